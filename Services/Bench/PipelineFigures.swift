import Foundation

/// Every figure one `vectis-bench pipeline` run measured, side by side on the same machine state: written with
/// `--json`, read back with `--compare` to print each figure's ratio to an earlier run.
struct PipelineFigures: Codable {
    /// Messages/s of 100-byte frames: a direct PUB→SUB pair, and through `vectis-bus`'s forwarding loop.
    var rawDirect: Double
    /// Through libzmq's own `zmq_proxy`, which checks nothing (absent from runs made before it was measured).
    var builtInProxy: Double?
    var forwarderCurveOff: Double
    var forwarderCurveOn: Double
    /// Events/s: outbox → bus → exactly-once apply, with the bus insecure and authenticated.
    var reliableCurveOff: Double
    var reliableCurveOn: Double
    /// Rows/s of a batched upsert of the pipeline's rows into a `backup_jobs`-shaped table.
    var sqliteUpsert: Double
    /// Backup runs/s from publish until the rules service applied every one.
    var pipeline: Double
    /// Publish → rule decision at full speed (queueing) and at the paced rate, milliseconds.
    var fullSpeedP99Milliseconds: Double
    var pacedRate: Double
    var pacedP50Milliseconds: Double
    var pacedP99Milliseconds: Double
    /// CPU microseconds each process spent per run during the full-speed phase.
    var cpuMicrosecondsPerRun: [String: Double]
    /// Resident MiB of each process after the run.
    var residentMiB: [String: Double]
    var measuredAt: Date

    /// The figures `--compare` prints, named; `higherIsBetter` says which way a ratio above 1 points.
    var named: [(name: String, value: Double, unit: String, higherIsBetter: Bool)] {
        var figures: [(String, Double, String, Bool)] = [
            ("raw PUB→SUB direct", rawDirect, "msg/s", true),
            ("libzmq's zmq_proxy", builtInProxy ?? 0, "msg/s", true),
            ("forwarder, CURVE off", forwarderCurveOff, "msg/s", true),
            ("forwarder, CURVE on", forwarderCurveOn, "msg/s", true),
            ("reliable path, CURVE off", reliableCurveOff, "events/s", true),
            ("reliable path, CURVE on", reliableCurveOn, "events/s", true),
            ("SQLite batched upsert", sqliteUpsert, "rows/s", true),
            ("pipeline end to end", pipeline, "runs/s", true),
            ("p99 at full speed", fullSpeedP99Milliseconds, "ms", false),
            ("p50 paced", pacedP50Milliseconds, "ms", false),
            ("p99 paced", pacedP99Milliseconds, "ms", false)
        ]
        for (service, value) in cpuMicrosecondsPerRun.sorted(by: { $0.key < $1.key }) {
            figures.append(("CPU per run, \(service)", value, "µs", false))
        }
        figures.append(("CPU per run, all", cpuMicrosecondsPerRun.values.reduce(0, +), "µs", false))
        for (service, value) in residentMiB.sorted(by: { $0.key < $1.key }) {
            figures.append(("resident, \(service)", value, "MiB", false))
        }
        return figures
    }

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(self).write(to: url)
    }

    static func read(from path: String) throws -> PipelineFigures {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(PipelineFigures.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// One line per figure: before, now, and their ratio (marked when it moved more than 10% the wrong way).
    func comparison(to before: PipelineFigures) -> String {
        let earlier = Dictionary(before.named.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        var lines = ["compared with the run of \(ISO8601DateFormatter().string(from: before.measuredAt)):"]
        for figure in named {
            guard let old = earlier[figure.name], old > 0 else { continue }
            let ratio = figure.value / old
            let worse = figure.higherIsBetter ? ratio < 0.9 : ratio > 1.1
            func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
            lines.append(
                "  " + padded(figure.name, 28) + String(format: "%12.1f → %12.1f ", old, figure.value) + padded(figure.unit, 9)
                    + String(format: "ratio %.2f", ratio) + (worse ? "  ← worse by more than 10%" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
