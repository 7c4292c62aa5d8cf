import Foundation
import Testing
import VectisRuntime

@testable import RulesService

/// What a PSA's answer means, whatever it sends: the body of a 2xx, or the error it is — never a secret in it.
@Suite("PSA answers")
struct PSAAnswerTests {
    static func interpret(
        _ status: Int, _ body: String, contentType: String? = "application/json", retryAfter: String? = nil, validation: Bool = false
    ) -> Result<Any?, PSAError> {
        let secrets = PSAHTTPClient.secretsSent(headers: ["Authorization": "Basic c2VjcmV0LXBhaXI="], form: "client_secret=s3cr3t%21")
        return PSAHTTPClient.interpret(
            status: status, data: Data(body.utf8), contentType: contentType, retryAfter: retryAfter, validationErrorsOn500: validation,
            errorMessage: { code, body in UpstreamText.sanitized(PSAHTTPClient.genericMessage(code, body), secrets: secrets) },
            sanitized: { UpstreamText.sanitized($0, secrets: secrets) })
    }

    @Test("a 2xx with JSON is its body; a 2xx with a web page is refused as not the PSA's API")
    func success() throws {
        let answer = try Self.interpret(200, #"{"id": 42}"#).get() as? [String: Any]
        #expect(answer?["id"] as? Int == 42)
        guard case .failure(.rejected(200, let message)) = Self.interpret(200, "<html>sign in</html>", contentType: "text/html") else {
            Issue.record("a login page is not an answer")
            return
        }
        #expect(message.contains("not JSON: is the URL the PSA's API address?"))
    }

    @Test("429 waits for Retry-After, held to a minute (1e20 would trap a conversion), 5 s when it is not a number")
    func rateLimited() {
        for (header, seconds) in [("2", 2), ("1e20", 60), ("nan", 5), ("soon", 5), ("-3", 0)] as [(String, Int64)] {
            guard case .failure(.rateLimited(let wait, 429)) = Self.interpret(429, "", retryAfter: header) else {
                Issue.record("\(header): not a rate limit")
                continue
            }
            #expect(wait == .seconds(seconds), "\(header)")
        }
    }

    @Test("refusals keep the PSA's words without any credential the call sent; Autotask's 500 with errors[] is a refusal")
    func refusals() {
        guard case .failure(.unauthorized(401, let message)) = Self.interpret(401, #"{"message": "bad key c2VjcmV0LXBhaXI= s3cr3t!"}"#)
        else {
            Issue.record("401 is unauthorized")
            return
        }
        #expect(!message.contains("c2VjcmV0LXBhaXI=") && !message.contains("s3cr3t!"), "\(message)")
        if case .failure(.rejected(500, _)) = Self.interpret(500, #"{"errors": ["Queue is required"]}"#, validation: true) {
        } else {
            Issue.record("a validation 500 is a refusal")
        }
        if case .failure(.transient(500, _)) = Self.interpret(500, #"{"errors": ["Queue is required"]}"#) {
        } else {
            Issue.record("elsewhere a 500 is worth retrying")
        }
        if case .failure(.rejected(404, _)) = Self.interpret(404, "") {} else { Issue.record("404 is a refusal") }
    }
}
