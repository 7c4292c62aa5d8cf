import Foundation
import Testing
import VectisRuntime

@Suite("Outbound addresses and upstream text")
struct UpstreamPolicyTests {
    @Test(
        "loopback, private, link-local, shared, ULA, mapped and unspecified addresses are not public; real ones are",
        arguments: [
            ("127.0.0.1", false), ("127.8.9.1", false), ("10.1.2.3", false), ("172.16.0.1", false), ("172.31.255.255", false),
            ("192.168.1.1", false), ("169.254.169.254", false), ("100.64.0.1", false), ("0.0.0.0", false), ("255.255.255.255", false),
            ("224.0.0.1", false), ("::1", false), ("::", false), ("fd00::1", false), ("fe80::1%eth0", false), ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false), ("ff02::1", false), ("not-an-address", false),
            ("8.8.8.8", true), ("172.32.0.1", true), ("100.128.0.1", true), ("2606:4700::1111", true), ("::ffff:1.1.1.1", true)
        ])
    func publicAddresses(address: String, expected: Bool) {
        #expect(UpstreamPolicy.isPublic(address) == expected, "\(address)")
    }

    @Test("a call to loopback is refused by default and allowed only when private upstreams are")
    func refusal() throws {
        let url = try #require(URL(string: "http://127.0.0.1:8082/v1/alerts"))
        #expect(UpstreamPolicy().refusal(for: url)?.contains("private address") == true)
        #expect(UpstreamPolicy(allowPrivateAddresses: true).refusal(for: url) == nil)
        #expect(UpstreamPolicy().refusal(for: try #require(URL(string: "http://localhost/x")))?.contains("private address") == true)
        #expect(UpstreamPolicy(allowPrivateAddresses: true).refusal(for: try #require(URL(string: "file:///etc/passwd"))) != nil)
        #expect(UpstreamPolicy(allowPrivateAddresses: true).refusal(for: try #require(URL(string: "http://u:p@127.0.0.1/"))) != nil)
    }

    @Test("a base address may not carry a query, fragment or credentials, and must be http(s)")
    func baseAddresses() {
        #expect(UpstreamPolicy.baseAddressProblem("https://acme.halopsa.com") == nil)
        #expect(UpstreamPolicy.baseAddressProblem("https://acme.halopsa.com/api?x=") != nil)
        #expect(UpstreamPolicy.baseAddressProblem("https://acme.halopsa.com#x") != nil)
        #expect(UpstreamPolicy.baseAddressProblem("https://user:pw@acme.halopsa.com") != nil)
        #expect(UpstreamPolicy.baseAddressProblem("gopher://acme") != nil)
        #expect(UpstreamPolicy.baseAddressProblem(String(repeating: "a", count: 3_000)) != nil)
    }

    @Test("credentials in an upstream's text are replaced, known secrets too, control characters go and the length is capped")
    func sanitizing() {
        let text = UpstreamText.sanitized(
            "denied for Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ== and Bearer eyJhbGciOi.J9x and secret=hunter22 \u{1b}[31m "
                + "client key SUPERSECRETVALUE",
            secrets: ["SUPERSECRETVALUE"])
        #expect(!text.contains("QWxhZGRpbjpvcGVuIHNlc2FtZQ==") && !text.contains("eyJhbGciOi") && !text.contains("hunter22"))
        #expect(!text.contains("SUPERSECRETVALUE") && !text.contains("\u{1b}"))
        #expect(text.contains("***"))
        #expect(UpstreamText.sanitized("Basic authentication is required") == "Basic authentication is required")
        #expect(UpstreamText.sanitized(String(repeating: "x", count: 5_000)).count <= UpstreamText.maxCharacters + 1)
    }
}
