import BillingCore

/// What production refuses: missing or short secrets, the development ones, user ids from
/// requests, and payment tokens that are gateway tokens too.
enum ProductionRules {
    static func check(_ config: BillingConfig) throws(BillingError) {
        guard config.environment == .production else { return }
        let auth = config.auth
        guard !auth.internalTokens.isEmpty else {
            throw .invalidConfiguration(key: "billing.auth.internal_tokens", reason: "required in production")
        }
        let development = BillingConfig.Auth.developmentInternalToken
        for token in auth.internalTokens where token.utf8.count < 16 || token == development {
            throw .invalidConfiguration(
                key: "billing.auth.internal_tokens", reason: "each token needs at least 16 characters in production")
        }
        for token in auth.paymentTokens where token.utf8.count < 16 || token == development {
            throw .invalidConfiguration(
                key: "billing.auth.payment_tokens", reason: "each token needs at least 16 characters in production")
        }
        guard Set(auth.paymentTokens).isDisjoint(with: auth.internalTokens) else {
            throw .invalidConfiguration(
                key: "billing.auth.payment_tokens", reason: "must differ from the gateway's internal tokens")
        }
        for token in auth.adminTokens
        where token.utf8.count < 16 || token == BillingConfig.Auth.developmentAdminToken {
            throw .invalidConfiguration(
                key: "billing.auth.admin_tokens", reason: "each token needs at least 16 characters in production")
        }
        guard Set(auth.adminTokens).isDisjoint(with: auth.internalTokens + auth.paymentTokens) else {
            throw .invalidConfiguration(
                key: "billing.auth.admin_tokens", reason: "must differ from the gateway's and the payment service's tokens")
        }
        guard !auth.allowUserIdParam else {
            throw .invalidConfiguration(
                key: "billing.auth.allow_user_id_param",
                reason: "must be false in production: the user comes from the gateway's header")
        }
        let secret = config.paymentService.callbackSecret
        guard secret.utf8.count >= 16, secret != BillingConfig.PaymentService.developmentCallbackSecret else {
            throw .invalidConfiguration(
                key: "billing.payment_service.callback_secret", reason: "required in production, at least 16 characters")
        }
    }
}
