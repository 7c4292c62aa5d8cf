import Foundation
import Testing

/// There is no Docker engine here, so the container files are checked against the code instead.
@Suite("Container and compose files")
struct DeploymentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func read(_ path: String) throws -> String {
        try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
    }

    func matches(_ pattern: String, in text: String) throws -> [String] {
        let regex = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    @Test("every executable the compose file and Dockerfile name is a product of Package.swift")
    func executablesExist() throws {
        let package = try read("Package.swift")
        let products = Set(try matches(#"\.executable\(name: "([^"]+)""#, in: package))
        let compose = try read("compose/compose.yaml")
        let dockerfile = try read("compose/Dockerfile")
        let named = try matches(#"command: \["([a-z-]+)""#, in: compose) + (try matches(#"--product ([a-z-]+)"#, in: dockerfile))
        #expect(!named.isEmpty)
        for executable in Set(named) { #expect(products.contains(executable), "\(executable) is not a product") }
        // The five services and the bus each have a service entry.
        for service in ["bus", "collector", "assets", "backups", "alerts", "rules"] {
            #expect(compose.contains("\n  \(service):\n"), "compose has no \(service) service")
        }
    }

    @Test("every variable the compose file sets is one the README documents")
    func variablesDocumented() throws {
        let readme = try read("README.md")
        let variables = Set(try matches(#"^\s+(VECTIS_[A-Z0-9_]+):"#, in: try read("compose/compose.yaml")))
        #expect(variables.count >= 10)
        for variable in variables where !readme.contains("`\(variable)`") && !readme.contains("`\(variable) `") {
            // Some rows document a pair (`VECTIS_DATTO_BASE_URL_US` / `_EU`).
            let pairDocumented = variable.hasSuffix("_EU") && readme.contains("`\(variable.dropLast(3))_US` / `_EU`")
            #expect(pairDocumented, "\(variable) is not in the README's configuration table")
        }
    }

    @Test("every healthcheck path exists on the services, and secrets come from files")
    func healthchecksAndSecrets() throws {
        let compose = try read("compose/compose.yaml")
        let paths = Set(try matches(#"http://127\.0\.0\.1:\d+(/[a-z]+)"#, in: compose))
        #expect(paths == ["/healthz"])
        #expect(try read("Shared/Runtime/HealthController.swift").contains(#"router.get("healthz")"#))
        #expect(!compose.contains("VECTIS_ADMIN_TOKEN:"), "no token value in the compose file")
        #expect(compose.contains("file: ./secrets/admin_token") && compose.contains("file: ./secrets/collector_secret_key")
            && compose.contains("file: ./secrets/rules_secret_key"))
        #expect(try read(".gitignore").contains("compose/secrets/"))
    }
}
