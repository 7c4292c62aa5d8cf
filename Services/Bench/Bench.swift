import ArgumentParser

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectis-bench", abstract: "Measure the bus and the pipeline; prints figures.",
        subcommands: [
            BusBenchmark.self, CodecBenchmark.self, ReliableBenchmark.self, SoakBenchmark.self, PipelineBenchmark.self,
            MemoryBenchmark.self, SyncBenchmark.self, GridBenchmark.self
        ])

    static func main() async {
        // Figures appear as they are measured, also when the output goes to a file.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
