import Foundation
import Testing

/// The container files checked against the code (fast, in every test run); `make compose-test` then builds the
/// image and runs compose for real.
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
        let compose = try read("compose/compose.yaml") + (try read("compose/compose.shards.yaml"))
        // The build script's list is what the image holds; the runtime image refuses to build without each one.
        let built =
            try matches(#"^products=\(([a-z -]+)\)"#, in: try read("scripts/build-release.sh")).first?
            .split(separator: " ").map(String.init) ?? []
        let checked =
            try matches(#"for product in ([a-z -]+); do"#, in: try read("compose/Dockerfile.runtime")).first?
            .split(separator: " ").map(String.init) ?? []
        #expect(
            !built.isEmpty && Set(built) == Set(checked),
            "scripts/build-release.sh and compose/Dockerfile.runtime list the same executables")
        for executable in built { #expect(products.contains(executable), "\(executable) is not a product") }
        let named = try matches(#"command: \["([a-z-]+)""#, in: compose)
        #expect(!named.isEmpty)
        for executable in Set(named) { #expect(built.contains(executable), "\(executable) is not in the image") }
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
        #expect(
            compose.contains("file: ./secrets/admin_token") && compose.contains("file: ./secrets/collector_secret_key")
                && compose.contains("file: ./secrets/rules_secret_key"))
        #expect(try read(".gitignore").contains("compose/secrets/"))
    }
}
