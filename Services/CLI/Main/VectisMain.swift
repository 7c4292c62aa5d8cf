import VectisCLI

@main
enum VectisMain {
    static func main() async {
        await VectisCommand.main(nil)
    }
}
