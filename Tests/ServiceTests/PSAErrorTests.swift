import Foundation
import PSASandbox
import Testing
import VectisAPI
import VectisTestSupport

/// Every way a PSA says no, for each of the three: the rule's test ticket reports it in the PSA's own words,
/// the history records the call, and vectis-rules keeps running.
@Suite("PSA error bodies of every kind", .serialized)
struct PSAErrorTests {
    @Test(
        "each refusal is reported in the PSA's words; the service stays up and the next call works",
        arguments: ["connectwise", "autotask", "halopsa"])
    func refusals(psa: String) async throws {
        try await SystemHarness.with(fleet: RulesTests.fleet) { harness in
            let rule = try await harness.enableRule(psa)
            let sandbox = harness.psa
            let validation = [
                "connectwise": "board: The board field is required.",
                "autotask": "Unable to save: the Queue ID 999 does not exist.",
                "halopsa": "HTTP 400: Error: Client ID 99 not found"
            ][psa]!
            let cases: [(PSAFault.Kind, String)] = [
                (.validation, validation),
                (.unauthorized, "HTTP 401"),
                (.forbidden, "HTTP 403: This API member has no access to service tickets."),
                (.notFound, "HTTP 404: Ticket not found."),
                (.html, "not JSON: is the URL the PSA's API address?"),
                (.emptyError, "HTTP 502: no body"),
                (.huge, "the PSA's answer was cut off: the response is larger than 4 MiB"),
                (.serverError, "HTTP 500: Internal Server Error"),
                (.badRequest, "HTTP 400: Bad Request; rejected by the sandbox"),
                (.rateLimit, "HTTP 429: rate limited")
            ]
            for (kind, expected) in cases {
                sandbox.queue(PSAFault(fault: kind, psa: psa))
                let result = try await harness.rules(
                    "/v1/rules/\(rule)/test-ticket", "POST", ["companyId": "250"], as: TestTicketOutcome.self)
                #expect(!result.ok)
                let error = result.error ?? ""
                #expect(error.contains(expected), "\(psa) \(kind): \(error)")
                #expect(try await harness.rules("/healthz").status == 200)
                sandbox.clearFaults()
            }
            // Every call was journalled with its status (never a body or a header).
            let history = try await harness.history(rule)
            #expect(history.filter { $0.kind == "test-ticket" }.count == cases.count)
            #expect(history.contains { $0.status == 403 })
            #expect(!history.contains { $0.detail.contains(PSASandboxCredentials().haloClientSecret) })
            let working = try await harness.rules("/v1/rules/\(rule)/test-ticket", "POST", ["companyId": "250"], as: TestTicketOutcome.self)
            #expect(working.ok, "\(working.error ?? "")")
        }
    }
}
