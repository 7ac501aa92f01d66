import BillingConfiguration
import BillingCore
import BillingPostgres
import BillingRedis
import CallbackSigning
import GRPCCore
import GRPCLifecycle
import GRPCNIOTransportHTTP2
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Assembles the whole server from its configuration. The executable and the tests build
/// the application the same way.
public enum BillingApplication {
    public struct Parts: Sendable {
        public let pool: PostgresPool
        public let lanes: DeductionLanes
        public let cache: RedisAccountCache?
        public let service: BillingService
        public let pricing: PriceAdministration
        public let metrics: BillingMetrics
        /// Nil when gRPC is disabled; its `listeningAddress` tells the port when 0 was asked.
        public let grpcServer: GRPCServer<HTTP2ServerTransport.Posix>?
        public let sweeper: HoldExpirySweeper
        public let audit: PostgresAuditLog
        public let webhooks: PostgresWebhooks
    }

    /// The `Server` header of every answer.
    static let serverName = "billing-service"

    public static func build(
        config: BillingConfig, logger: Logger, clock: any BillingClock = SystemClock(),
        openAPIPath: String = "docs/openapi.yaml"
    ) async throws -> (some ApplicationProtocol, Parts) {
        // The preamble: the schema is current before any service starts.
        if config.database.migrateOnStart {
            try await migrate(config: config, logger: logger)
        }
        let metrics = BillingMetrics()
        let pool = PostgresPool(config: config.database.postgres, settings: config.database.pool)
        let redisPool =
            config.redis.enabled
            ? RedisAccountCache.makePool(config: config.redis.connection, settings: .init(size: config.redis.poolSize))
            : nil
        let cache = redisPool.map {
            RedisAccountCache(
                pool: $0, namespace: config.redis.namespace, ttlSeconds: config.redis.ttlSeconds, observer: metrics)
        }
        // One copy of the stored prices for the whole process: the lanes, the checks and the
        // operator routes see the same versions, and an operator's change here at once.
        let storedPrices = StoredPrices(catalog: config.catalog)
        let prices = PostgresPrices(pool: pool, stored: storedPrices)
        let lanes = DeductionLanes(
            config: config.database.postgres, catalog: config.catalog, calendar: config.calendar, clock: clock,
            settings: config.lanes, observer: metrics,
            listener: cache.map { CacheCommitListener(cache: $0, lanes: config.lanes.laneCount) }, prices: storedPrices)
        let accounts = PostgresAccounts(pool: pool)
        let orders = PostgresOrders(pool: pool)
        let ledger: any DeductionLedger =
            switch config.deductionStrategy {
            case .lanes: lanes
            case .perCall:
                PerCallDeductionLedger(pool: pool, catalog: config.catalog, calendar: config.calendar, clock: clock)
            }
        let payments = try GRPCPaymentGateway(settings: config.paymentService, metrics: metrics, logger: logger)
        let service = BillingService(
            catalog: config.catalog, calendar: config.calendar, clock: clock, ledger: ledger, accounts: accounts,
            cache: cache, orders: orders, payments: payments, queries: PostgresLedgerQueries(pool: pool), observer: metrics,
            prices: prices, holds: lanes, holdQueries: PostgresHolds(pool: pool), settings: PostgresSettings(pool: pool))
        let audit = PostgresAuditLog(pool: pool)
        let webhooks = PostgresWebhooks(pool: pool)
        let dispatcher = WebhookDispatcher(
            store: webhooks, schedule: config.webhooks.schedule, timeout: config.webhooks.timeout,
            interval: config.webhooks.interval, metrics: metrics, logger: logger)
        let sweeper = HoldExpirySweeper(
            holds: PostgresHolds(pool: pool), ledger: lanes, clock: clock, metrics: metrics, logger: logger)
        let pricing = PriceAdministration(
            store: prices, catalog: config.catalog, calendar: config.calendar, clock: clock, accounts: accounts,
            cache: cache)
        let identity = try UserIdentity(headerName: config.auth.userHeader, allowUserIdParam: config.auth.allowUserIdParam)
        let grpcServer =
            config.grpc.enabled
            ? GRPCServer(
                transport: .http2NIOPosix(
                    address: .ipv4(host: config.grpc.host, port: config.grpc.port), transportSecurity: .plaintext),
                services: [
                    InternalGRPCService(service: service),
                    ConsoleGRPCService(service: service, identity: identity),
                    AdminGRPCService(pricing: pricing, service: service, audit: audit),
                ],
                interceptors: [
                    RequestIdInterceptor(),
                    MetricsInterceptor(metrics: metrics),
                    AdminAuditInterceptor(log: audit),
                    InternalAuthInterceptor(
                        internalTokens: config.auth.internalTokens, paymentTokens: config.auth.paymentTokens,
                        adminTokens: config.auth.adminTokens)
                ])
            : nil
        let parts = Parts(
            pool: pool, lanes: lanes, cache: cache, service: service, pricing: pricing, metrics: metrics,
            grpcServer: grpcServer, sweeper: sweeper, audit: audit, webhooks: webhooks)

        let router = try makeRouter(
            config: config, parts: parts, clock: clock,
            openAPIDocument: try? String(contentsOfFile: openAPIPath, encoding: .utf8))
        let fastPath = DeductFastPath.Settings(
            deduct: { request, completion in service.deduct(request, completion: completion) },
            internalTokens: config.auth.internalTokens, bodyLimitBytes: config.http.bodyLimitBytes, metrics: metrics,
            serverName: Self.serverName, logger: logger)
        let app = Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [DeductFastPath(settings: fastPath)])),
            configuration: .init(address: .hostname(config.http.host, port: config.http.port), serverName: Self.serverName),
            // Started in this order (the HTTP server last), stopped in reverse: HTTP (in-flight
            // requests finish), gRPC, the Payment Service client, the lanes (they commit and
            // answer what is queued, writing the cache), Redis, then the database pool.
            services: [pool as any Service] + (redisPool.map { [$0 as any Service] } ?? []) + [
                lanes, sweeper, dispatcher, GRPCClientService(client: payments.client),
            ] + (grpcServer.map { [GRPCServerService(server: $0)] } ?? []),
            logger: logger)
        return (app, parts)
    }

    static func makeRouter(
        config: BillingConfig, parts: Parts, clock: any BillingClock, openAPIDocument: String?
    ) throws -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // Middleware first: routes added later are wrapped by it, and so is "no such route".
        router.add(middleware: RequestIdMiddleware())
        router.add(middleware: MetricsMiddleware(metrics: parts.metrics))
        let knownPaths = KnownPaths()
        router.add(middleware: ErrorEnvelopeMiddleware(knownPaths: knownPaths))
        let reader = RequestBodyReader(limitBytes: config.http.bodyLimitBytes)
        ManagementRoutes(
            service: parts.service,
            identity: try UserIdentity(headerName: config.auth.userHeader, allowUserIdParam: config.auth.allowUserIdParam),
            reader: reader
        ).register(on: router)
        InternalRoutes(
            service: parts.service, reader: reader, internalTokens: config.auth.internalTokens,
            paymentTokens: config.auth.paymentTokens,
            signature: CallbackSignature(
                secret: config.paymentService.callbackSecret, windowSeconds: config.paymentService.signatureWindowSeconds),
            clock: clock
        ).register(on: router)
        AdminRoutes(
            pricing: parts.pricing, service: parts.service, audit: parts.audit, webhooks: parts.webhooks, reader: reader,
            adminTokens: config.auth.adminTokens
        ).register(on: router)
        OperationsRoutes(pool: parts.pool, cache: parts.cache, metrics: parts.metrics, openAPIDocument: openAPIDocument)
            .register(on: router)
        ConsoleRoutes().register(on: router)
        knownPaths.set(router.routes.map(\.path.description))
        return router
    }

    /// Applies the migrations on a connection of their own, on a pool thread (blocking libpq
    /// stays off the event loops), without a statement time limit. A failure stops the start
    /// with the migrator's own words.
    public static func migrate(config: BillingConfig, logger: Logger) async throws {
        let migrator = try Migrator(directory: URL(fileURLWithPath: config.database.migrationsPath))
        let pool = PostgresPool(config: config.database.postgres.withoutStatementTimeout, settings: .init(size: 1))
        pool.start()
        let outcome: Result<([String], [String]), StartupFailure>
        let prices = StoredPrices(catalog: config.catalog)
        do {
            outcome = try await pool.withConnection { connection -> Result<([String], [String]), StartupFailure> in
                do {
                    let applied = try migrator.migrate(connection)
                    // Configuration seeds each service's first price version.
                    return .success((applied, try prices.seedAndCompare(on: connection, at: Date())))
                } catch {
                    return .failure(StartupFailure(description: "\(error)"))
                }
            }
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
        let (applied, priceDifferences) = try outcome.get()
        logger.info(
            "migrations", metadata: ["applied": "\(applied.isEmpty ? "none" : applied.joined(separator: ","))"])
        for difference in priceDifferences {
            logger.warning("configured price ignored", metadata: ["detail": "\(difference)"])
        }
    }
}

/// Why the server could not start, in words for the operator.
public struct StartupFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
}
