import ArgumentParser

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectis-bench", abstract: "Measure the bus and the pipeline; prints figures.",
        subcommands: [BusBenchmark.self, CodecBenchmark.self, ReliableBenchmark.self, SoakBenchmark.self, PipelineBenchmark.self, MemoryBenchmark.self, SyncBenchmark.self])
}

