import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VectisContracts

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// "Now" as the Datto sandbox has it, for local runs whose sandbox clock is moved on by hand (or runs a day a
/// minute): judging the sandbox's timestamps against the wall clock would put them in the future. Set with
/// `VECTIS_CLOCK_URL` (the sandbox's `/_sandbox/state`); never in production, where the wall clock is Datto's.
public final class SandboxClock: Service, Sendable {
    let url: URL
    let logger: Logger
    private let offset = Mutex<TimeInterval>(0)

    /// `VECTIS_CLOCK_URL`, validated; nil when unset (the wall clock).
    public static func url(from env: Environment) throws -> URL? {
        guard let text = env["VECTIS_CLOCK_URL"] else { return nil }
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ConfigurationError(
                variable: "VECTIS_CLOCK_URL", value: text,
                expected: "the Datto sandbox's state URL, e.g. http://127.0.0.1:9081/_sandbox/state")
        }
        return url
    }

    public init(url: URL, logger: Logger) {
        self.url = url
        self.logger = logger
    }

    /// The wall clock plus the sandbox's lead, as last read (four times a second).
    public func now() -> Date {
        Date().addingTimeInterval(offset.withLock { $0 })
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            var warned = false
            while !Task.isCancelled {
                do {
                    let lead = try await readLead()
                    offset.withLock { $0 = lead }
                    warned = false
                } catch is CancellationError {
                    return
                } catch {
                    if !warned {
                        logger.warning(
                            "cannot read the sandbox clock; keeping the last lead", metadata: ["url": "\(url)", "error": "\(error)"])
                    }
                    warned = true
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// How far the sandbox's clock is ahead of this one.
    public func readLead() async throws -> TimeInterval {
        struct State: Decodable { var now: String }
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        let (data, _) = try await URLSession.shared.data(for: request)
        let state = try JSONDecoder().decode(State.self, from: data)
        guard let sandboxNow = BusJSON.parseTimestamp(state.now) else { throw URLError(.cannotParseResponse) }
        return sandboxNow.timeIntervalSinceNow
    }
}
