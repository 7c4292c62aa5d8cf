import Crypto
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import VectisAPI
import VectisContracts
import VectisDelivery
import VectisRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Carries out `backup.retry.requested` (docs/collector.md) — Datto's API cannot start a backup, so a retry
/// (1) calls the MSP's retry hook if one is configured (e.g. an RMM job), (2) re-polls the device at once, and
/// (3) publishes `backup.retry.completed` saying exactly what happened, with the appliance's web link. It
/// never pretends a backup was started, and does nothing while the Datto credentials are failing.
struct RetryWorker: Service {
    let database: DatabasePool
    let outbox: Outbox
    let repository: any IntegrationRepository
    let poller: DattoPoller
    let hookURL: URL?
    var hookSecret: String? = nil
    var upstreams = UpstreamPolicy()
    let logger: Logger
    /// The hook is the MSP's own endpoint: short answers, and a redirect is an answer, never followed.
    let hookSession = BoundedHTTPSession(configuration: .ephemeral, maxResponseBytes: 64 * 1024, redirects: .never)

    /// `X-Vectis-Timestamp` and `X-Vectis-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
    static func signatureHeaders(body: Data, secret: String, timestamp: Int) -> [String: String] {
        var signed = Data("\(timestamp).".utf8)
        signed.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return [
            "X-Vectis-Timestamp": "\(timestamp)",
            "X-Vectis-Signature": "sha256=" + code.map { String(format: "%02x", $0) }.joined()
        ]
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let pending: [RetryRequest]
                do {
                    pending = try await database.read { db in try RetryRequest.pending(limit: 10, db) }
                } catch is CancellationError {
                    return
                } catch {
                    // Left pending: read again after a pause, not five times a second.
                    logger.error("could not read the pending retries", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(5))
                    continue
                }
                for queued in pending { await handle(queued) }
                try? await Task.sleep(for: .milliseconds(pending.isEmpty ? 200 : 10))
            }
        }
    }

    func handle(_ queued: RetryRequest) async {
        let (retryId, tenant, serial, volume) = (queued.retryId, queued.tenant, queued.deviceSerial, queued.agentVolume)
        var outcome = BackupRetryCompleted.Outcome.noHook
        var detail: String
        var repoll: Repoll?
        let integration: DattoIntegration?
        do {
            integration = try await repository.find(tenant: tenant)
        } catch {
            // Whether the credentials are failing is unknown: left pending, tried again on the next round.
            logger.error("retry: could not read the Datto integration", metadata: ["retry": "\(retryId)", "error": "\(error)"])
            return
        }
        if let kind = integration?.lastErrorKind, kind.isCredentialProblem {
            detail = "Not retried: the Datto credentials are failing (\(integration?.lastError ?? kind.rawValue)). Fix the key first."
        } else {
            let hook = await callHook(queued)
            outcome = hook.outcome
            repoll = await self.repoll(queued)
            detail = ([hook.sentence] + (repoll.map { [$0.sentence] } ?? [])).joined(separator: " ")
        }
        let (repolled, webURL) = (repoll?.done ?? false, repoll?.webURL)
        let event = BackupRetryCompleted(
            retryId: retryId, deviceSerial: serial, agentVolume: volume, outcome: outcome, detail: detail, repolled: repolled,
            remoteWebURL: webURL)
        do {
            try await database.write { db in
                try RetryRequest.markDone(retryId, db)
                try outbox.append(event, tenant: tenant, correlationId: retryId, in: db)
            }
            logger.info("retry handled", metadata: ["retry": "\(retryId)", "outcome": "\(outcome.rawValue)", "detail": "\(detail)"])
        } catch {
            logger.error("could not record a retry", metadata: ["retry": "\(retryId)", "error": "\(error)"])
        }
    }

    /// Calls the MSP's retry hook, when one is configured and allowed: what happened, in a sentence for the detail.
    func callHook(_ queued: RetryRequest) async -> (outcome: BackupRetryCompleted.Outcome, sentence: String) {
        guard let hookURL else {
            return (.noHook, "No retry hook is configured and Datto's API cannot start a backup: start it from the appliance.")
        }
        if let refusal = upstreams.refusal(for: hookURL) {
            logger.warning("retry hook not called", metadata: ["reason": "\(refusal)"])
            return (.hookFailed, "The retry hook was not called: \(refusal).")
        }
        do {
            var request = URLRequest(url: hookURL)
            request.httpMethod = "POST"
            request.timeoutInterval = 15
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            let body = try JSONSerialization.data(
                withJSONObject: [
                    "retryId": queued.retryId, "tenant": queued.tenant, "deviceSerial": queued.deviceSerial,
                    "agentVolume": queued.agentVolume, "reason": queued.reason
                ], options: [.sortedKeys])
            request.httpBody = body
            if let hookSecret {
                let headers = Self.signatureHeaders(body: body, secret: hookSecret, timestamp: Int(Date().timeIntervalSince1970))
                for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            }
            let (_, response) = try await hookSession.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return (200..<300).contains(status)
                ? (.hookCalled, "The retry hook accepted the request (HTTP \(status)).")
                : (.hookFailed, "The retry hook answered HTTP \(status).")
        } catch {
            logger.warning("retry hook unreachable", metadata: ["retry": "\(queued.retryId)", "error": "\(error)"])
            return (.hookFailed, "The retry hook could not be reached.")
        }
    }

    /// What re-reading the device found.
    struct Repoll {
        var done: Bool
        var webURL: String?
        var sentence: String
    }

    /// Re-reads the device at once with the tenant's Datto key; nil when there is no client to read with.
    func repoll(_ queued: RetryRequest) async -> Repoll? {
        let credentials: DattoCredentials
        do {
            guard let stored = try await repository.credentials(tenant: queued.tenant) else { return nil }
            credentials = stored
        } catch {
            logger.warning("retry: could not read the Datto credentials", metadata: ["retry": "\(queued.retryId)", "error": "\(error)"])
            return Repoll(done: false, sentence: "Not re-polled: the Datto credentials could not be read.")
        }
        guard let client = poller.client(for: credentials) else { return nil }
        let runner = SyncRunner(
            tenant: queued.tenant, client: client, database: database, outbox: outbox, concurrency: 1, logger: logger)
        do {
            let (device, newRuns) = try await runner.repoll(serialNumber: queued.deviceSerial, syncId: queued.retryId)
            return Repoll(
                done: true, webURL: device.remoteWebUrl, sentence: "Re-polled the device: \(newRuns) new run\(newRuns == 1 ? "" : "s").")
        } catch let error as DattoError {
            return Repoll(done: false, sentence: "The re-poll failed: \(error.message)")
        } catch {
            return Repoll(done: false, sentence: "The re-poll failed.")
        }
    }
}
