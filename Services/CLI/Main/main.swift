import VectisCLI

VectisCommand.main()
