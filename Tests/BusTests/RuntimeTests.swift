import VectisTestSupport
import Foundation
import Testing
import VectisRuntime

#if canImport(Glibc)
import Glibc
#endif

@Suite("Service runtime")
struct RuntimeTests {
    @Test("configuration comes from VECTIS_* variables over local defaults")
    func environmentOverDefaults() throws {
        let defaults = try RuntimeConfiguration(service: "alerts", defaultHTTPPort: 8084, environment: Environment([:]))
        #expect(defaults.httpPort == 8084)
        #expect(defaults.bus.publishEndpoint == "tcp://127.0.0.1:5550")
        #expect(defaults.logFormat == .human)

        let configured = try RuntimeConfiguration(
            service: "alerts", defaultHTTPPort: 8084,
            environment: Environment([
                "VECTIS_HTTP_PORT": "9000", "VECTIS_INSTANCE": "replica-2", "VECTIS_LOG_FORMAT": "json",
                "VECTIS_BUS_SUBSCRIBE": "tcp://bus:5551", "VECTIS_LOG_LEVEL": "debug",
            ]))
        #expect(configured.httpPort == 9000)
        #expect(configured.stream == "alerts/replica-2")
        #expect(configured.logFormat == .json)
        #expect(configured.logLevel == .debug)
        #expect(configured.bus.subscribeEndpoint == "tcp://bus:5551")
    }

    @Test("an unusable value is refused with the variable's name, not guessed")
    func badValues() {
        let error = #expect(throws: ConfigurationError.self) {
            try RuntimeConfiguration(
                service: "alerts", defaultHTTPPort: 8084, environment: Environment(["VECTIS_HTTP_PORT": "eighty"]))
        }
        #expect(error?.description == "VECTIS_HTTP_PORT=eighty is not an integer")
        #expect(throws: ConfigurationError.self) {
            try RuntimeConfiguration(
                service: "alerts", defaultHTTPPort: 8084, environment: Environment(["VECTIS_LOG_FORMAT": "xml"]))
        }
    }

    @Test("VECTIS_LOG_FORMAT=json makes every log line a JSON object; a bad variable stops start-up with exit 2")
    func jsonLogsAndBadStart() async throws {
        let bus = try await BusProcess.start(environment: ["VECTIS_LOG_FORMAT": "json"])
        bus.process.signal(SIGTERM)
        #expect(await bus.process.waitForExit() == 0)
        let lines = bus.process.stderr.split(separator: "\n")
        #expect(lines.count >= 3)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["msg"] is String && object?["level"] is String && object?["ts"] is String, "\(line)")
        }
        #expect(lines.contains { $0.contains(#""msg":"bus stopped""#) })

        let broken = try RunningProcess("vectis-bus", [], environment: ["VECTIS_HTTP_PORT": "eighty"])
        #expect(await broken.waitForExit() == 2)
        #expect(broken.stderr.contains("VECTIS_HTTP_PORT=eighty is not an integer"))
    }
}
