/**
 * Switchboard's REST API as TypeScript types for openapi-fetch: `createClient<paths>()`.
 * Generated from openapi.json by openapi-typescript; do not edit. Regenerate with `npm run openapi`.
 */

export interface paths {
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Check that the service and its database are up */
        get: operations["health-check"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/namespaces": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your namespaces, newest first */
        get: operations["namespaces-list"];
        put?: never;
        /** Create a namespace with a generated name */
        post: operations["namespaces-create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/namespaces/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get one of your namespaces */
        get: operations["namespaces-get"];
        /** Create a namespace with a chosen name (idempotent for its owner) */
        put: operations["namespaces-set"];
        post?: never;
        /** Delete a namespace and its connections */
        delete: operations["namespaces-delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Mint a service token (from an API key, or narrower from a service token)
         * @description TTL: 1 hour by default, at most 24 hours, the shortest of the constraints’ `ttl`. A token minted with a token never reaches more than its parent, nor outlives it.
         */
        post: operations["tokens-create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/tokens/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Revoke a service token before it expires (API key only) */
        post: operations["tokens-revoke"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth-clients": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your pre-registered OAuth clients (API key only) */
        get: operations["oauthClients-list"];
        /**
         * Use a pre-registered OAuth client for an authorization server (API key only)
         * @description For connections of this account whose upstream is protected by `issuer`, Switchboard presents this client instead of registering one. The secret is stored encrypted and never returned.
         */
        put: operations["oauthClients-set"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth-clients/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Stop using a pre-registered OAuth client (API key only) */
        delete: operations["oauthClients-remove"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/audit-events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List your account’s security events, newest first (API key only)
         * @description API keys created and revoked, service tokens minted and revoked, connection credentials set, connections deleted, upstream OAuth started, completed, failed and refreshed: who, when, and facts that are not secret (never a key, token, credential value or OAuth code).
         */
        get: operations["auditEvents-list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/namespaces/{name}/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the webhooks of a namespace (API key only) */
        get: operations["webhooks-list"];
        put?: never;
        /**
         * Register a webhook for connection events of a namespace (API key only)
         * @description Events are signed as Standard Webhooks specify (webhook-id, webhook-timestamp, webhook-signature). The answer carries the signing secret (`whsec_…`), shown this once. Event types: connection.status_changed, connection.deleted.
         */
        post: operations["webhooks-create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/namespaces/{name}/webhooks/{webhookId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a webhook (API key only) */
        get: operations["webhooks-get"];
        put?: never;
        post?: never;
        /** Delete a webhook and its deliveries (API key only) */
        delete: operations["webhooks-delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/namespaces/{name}/webhooks/{webhookId}/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a webhook.test event to a webhook (API key only)
         * @description Queued and delivered like any event (signed, retried); its attempts show in the deliveries.
         */
        post: operations["webhooks-test"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/namespaces/{name}/webhooks/{webhookId}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List a webhook’s deliveries with every attempt, newest first (API key only) */
        get: operations["webhooks-deliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/{namespace}/.tools": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the tools of every connection in a namespace, one envelope per connection */
        get: operations["tools-listNamespace"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/{namespace}/{connectionId}/.tools": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the tools of a connection */
        get: operations["tools-list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/{namespace}/{connectionId}/.tools/{toolPath}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get one tool, or the tools under a category prefix */
        get: operations["tools-get"];
        put?: never;
        /** Call a tool; the JSON body is its arguments */
        post: operations["tools-invoke"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/{namespace}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List connections, oldest first, filtered by name, URL or metadata */
        get: operations["connections-list"];
        put?: never;
        /** Create a connection with a generated id */
        post: operations["connections-create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/{namespace}/{connectionId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a connection and its status */
        get: operations["connections-get"];
        /**
         * Create a connection with a chosen id (201), or update it (200)
         * @description A different mcpUrl than the stored one is refused (409), except while the connection is input_required and the new URL keeps the same host and path.
         */
        put: operations["connections-set"];
        post?: never;
        /** Delete a connection and end its upstream session */
        delete: operations["connections-delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/{namespace}/{connectionId}/.reauthorize": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Get an authorization link that may replace the upstream account of a connected connection
         * @description The authorizationUrl a connection shows is refused while it is connected. This link is not: the end user who completes it replaces the tokens the connection uses. It works once, for OAUTH_LINK_TTL_SECONDS, and supersedes every authorization link minted before. 409 for a connection whose upstream does not use OAuth.
         */
        post: operations["connections-reauthorize"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Namespace: {
            /** @example brave-otter-4f2a */
            name: string;
            /**
             * Format: date-time
             * @description When the namespace was created (ISO 8601)
             */
            createdAt: string;
        };
        CreatedToken: {
            token: string;
            /** Format: date-time */
            expiresAt: string;
        };
        OAuthClient: {
            id: string;
            issuer: string;
            clientId: string;
            /** @description Whether a client secret is stored (it is never shown) */
            hasSecret: boolean;
            tokenEndpointAuthMethod: string | null;
            scope: string | null;
            /** @description null: configured by the operator for every account */
            accountId: string | null;
            /** Format: date-time */
            createdAt: string;
        };
        AuditEvent: {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "api_key.created";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                apiKeyId: string;
                name: string;
                newAccount: boolean;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "api_key.revoked";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                apiKeyId: string;
                tokensRevoked: number;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "token.minted";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                tokenId: string;
                parentTokenId: string | null;
                /** Format: date-time */
                expiresAt: string;
                policy: {
                    namespaces?: string[];
                    resources?: string[];
                    operations?: string[];
                    metadata?: {
                        [key: string]: string;
                    }[];
                    rpcReqMatchPaths?: string[];
                }[] | null;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "token.revoked";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                tokenId: string;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "connection.credentials_set";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                created: boolean;
                headerNames?: string[];
                queryParameterNames?: string[];
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "connection.deleted";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                hadOAuthTokens: boolean;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "oauth.started";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                issuer: string | null;
                reauthorization: boolean;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "oauth.completed";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                issuer: string | null;
                scope: string | null;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "oauth.failed";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                issuer: string | null;
                /** @enum {string} */
                reason: "denied" | "connection_changed" | "no_code" | "issuer_mismatch" | "exchange_refused" | "no_tokens" | "link_spent" | "already_connected" | "browser_mismatch" | "discovery_failed" | "registration_failed" | "start_failed";
                error: string | null;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "oauth.refreshed";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                issuer: string | null;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "oauth.refresh_failed";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                issuer: string | null;
                /** @enum {string} */
                reason: "no_refresh_token" | "client_gone" | "refused";
                error: string | null;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "webhook.created";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                webhookId: string;
                host: string;
                events: string[] | null;
            };
        } | {
            /** @example evt_3k7q2m5x9v4h6c8b */
            id: string;
            /** @constant */
            type: "webhook.deleted";
            /** Format: date-time */
            occurredAt: string;
            actor: {
                /** @enum {string} */
                type: "api_key" | "service_token" | "cli" | "system" | "end_user";
                /** @description The API key or service token id; null for cli, system and end_user */
                id: string | null;
            };
            namespace: string | null;
            connectionId: string | null;
            /** @description The request that caused it (as in the x-request-id header and the logs) */
            requestId: string | null;
            details: {
                webhookId: string;
            };
        };
        Webhook: {
            /** @example wh_k3q7m2x9v4h6c8bd */
            webhookId: string;
            url: string;
            /** @description The event types it receives; null: all of them, those added later too */
            events: string[] | null;
            description: string | null;
            /** Format: date-time */
            createdAt: string;
        };
        WebhookDelivery: {
            /** @description The event id, sent as `webhook-id`: the same on every attempt */
            eventId: string;
            eventType: string;
            /** @enum {string} */
            status: "pending" | "succeeded" | "failed";
            /** @description The event as sent: `{type, timestamp, data}` */
            payload: unknown;
            attemptCount: number;
            /** @description When the next attempt is due (pending only) */
            nextAttemptAt: string | null;
            /** Format: date-time */
            createdAt: string;
            attempts: {
                /** @description 1 for the first attempt */
                attempt: number;
                /** Format: date-time */
                attemptedAt: string;
                durationMs: number;
                /** @description The receiver’s HTTP status; null when there was no answer */
                responseStatus: number | null;
                /** @description Why the attempt failed (null: it succeeded); never the receiver’s body */
                error: string | null;
            }[];
        };
        /** @description What Switchboard last learned about the upstream server */
        ConnectionStatus: {
            /** @constant */
            state: "connected";
        } | {
            /** @constant */
            state: "disconnected";
        } | {
            /** @constant */
            state: "auth_required";
            /** @description Where the end user completes setup */
            setupUrl?: string;
            /** @description Where the end user authorizes access upstream */
            authorizationUrl?: string;
        } | {
            /** @constant */
            state: "input_required";
            setupUrl?: string;
            /** @description The configuration the server declares, by header and query parameter name */
            http: {
                headers?: {
                    [key: string]: {
                        label: string;
                        description?: string;
                        required?: boolean;
                    };
                };
                query?: {
                    [key: string]: {
                        label: string;
                        description?: string;
                        required?: boolean;
                    };
                };
            };
            missing: {
                headers: string[];
                query: string[];
            };
        } | {
            /** @constant */
            state: "error";
            message: string;
        };
        /** @description An MCP tool, as the upstream server describes it */
        Tool: {
            name: string;
            inputSchema: {
                [key: string]: unknown;
            };
            description?: string;
        } & {
            [key: string]: unknown;
        };
        ToolList: {
            tools: components["schemas"]["Tool"][];
        };
        /** @description The MCP CallToolResult; a tool that failed has isError: true */
        CallToolResult: {
            content?: {
                [key: string]: unknown;
            }[];
            isError?: boolean;
        } & {
            [key: string]: unknown;
        };
        /** @description A connection to an upstream MCP server. Its credential headers are never returned. */
        Connection: {
            connectionId: string;
            name: string;
            mcpUrl: string;
            metadata: {
                [key: string]: unknown;
            } | null;
            /** Format: date-time */
            createdAt: string;
            /** @constant */
            transport: "http";
            serverInfo?: components["schemas"]["ServerInfo"];
            status: components["schemas"]["ConnectionStatus"];
        };
        ServerInfo: {
            name: string;
            version: string;
            title?: string;
            description?: string;
            websiteUrl?: string;
            icons?: {
                src: string;
                mimeType?: string;
                sizes?: string[];
                /** @enum {string} */
                theme?: "light" | "dark";
            }[];
        };
        Error: {
            /**
             * @description Machine-readable error code
             * @enum {string}
             */
            error: "validation_error" | "unauthorized" | "forbidden" | "not_found" | "method_not_allowed" | "request_timeout" | "conflict" | "payload_too_large" | "unsupported_media_type" | "headers_too_large" | "rate_limited" | "internal_error" | "bad_gateway" | "service_unavailable";
            /** @description What went wrong, for people */
            message: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    "health-check": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        status: "ok";
                        /** Format: date-time */
                        timestamp: string;
                        /** @description Present when replicas sharing the database run with different security-relevant settings */
                        configDrift?: {
                            /** @description The settings (environment variable names) that differ; never their values */
                            settings: string[];
                            /** @description How many other live replicas differ from this one */
                            replicas: number;
                        };
                    };
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "namespaces-list": {
        parameters: {
            query?: {
                page?: number;
                pageSize?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        namespaces: components["schemas"]["Namespace"][];
                        pagination: {
                            currentPage: number;
                            pageSize: number;
                            totalPages: number;
                            totalCount: number;
                        };
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "namespaces-create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Namespace"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "namespaces-get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Namespace"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "namespaces-set": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Namespace"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Conflict (carries `x-should-retry: false`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "namespaces-delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        success: true;
                        name: string;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "tokens-create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    /** @description Constraints, each an independent grant (OR); within one, every field must hold (AND). Leave out for the caller’s full reach for 1 hour. */
                    policy?: {
                        namespaces?: string[];
                        resources?: ("connections" | "namespaces" | "servers" | "skills")[];
                        operations?: ("read" | "write" | "execute")[];
                        metadata?: {
                            [key: string]: string;
                        }[];
                        rpcReqMatch?: {
                            [key: string]: string;
                        };
                        ttl?: number | string;
                    }[];
                    /** @description Accepted and ignored (sent by @smithery/api 0.45/0.50): the token belongs to the caller’s account */
                    profileSlug?: string;
                    /** @description Accepted and ignored (sent by @smithery/api 0.68): the token belongs to the caller’s account */
                    organizationId?: string;
                };
            };
        };
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedToken"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "tokens-revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description The token id, as minted (`tok_…`) */
                    id?: string;
                    /** @description Or the token itself */
                    token?: string;
                };
            };
        };
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        success: true;
                        id: string;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "oauthClients-list": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        clients: components["schemas"]["OAuthClient"][];
                    };
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "oauthClients-set": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description The authorization server’s issuer identifier, exactly */
                    issuer: string;
                    clientId: string;
                    clientSecret?: string;
                    /** @enum {string} */
                    tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post" | "none";
                    scope?: string;
                };
            };
        };
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthClient"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Conflict (carries `x-should-retry: false`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "oauthClients-remove": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        success: true;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "auditEvents-list": {
        parameters: {
            query?: {
                type?: "api_key.created" | "api_key.revoked" | "token.minted" | "token.revoked" | "connection.credentials_set" | "connection.deleted" | "oauth.started" | "oauth.completed" | "oauth.failed" | "oauth.refreshed" | "oauth.refresh_failed" | "webhook.created" | "webhook.deleted";
                namespace?: string;
                connectionId?: string;
                since?: string;
                until?: string;
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        events: components["schemas"]["AuditEvent"][];
                        /** @description Cursor of the next (older) page, null on the last one */
                        nextCursor: string | null;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "webhooks-list": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        webhooks: components["schemas"]["Webhook"][];
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "webhooks-create": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description Where events are POSTed: http(s), reachable under the egress policy */
                    url: string;
                    /** @description Event types to receive (connection.status_changed, connection.deleted); all when left out */
                    events?: string[];
                    description?: string;
                };
            };
        };
        responses: {
            /** @description Successful response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @example wh_k3q7m2x9v4h6c8bd */
                        webhookId: string;
                        url: string;
                        /** @description The event types it receives; null: all of them, those added later too */
                        events: string[] | null;
                        description: string | null;
                        /** Format: date-time */
                        createdAt: string;
                        /** @description The signing secret, shown only in this answer */
                        secret: string;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "webhooks-get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                name: string;
                /** @description The webhook id (`wh_…`) */
                webhookId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Webhook"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "webhooks-delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                name: string;
                /** @description The webhook id (`wh_…`) */
                webhookId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        success: true;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "webhooks-test": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                name: string;
                /** @description The webhook id (`wh_…`) */
                webhookId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        eventId: string;
                        type: string;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "webhooks-deliveries": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                name: string;
                /** @description The webhook id (`wh_…`) */
                webhookId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        deliveries: components["schemas"]["WebhookDelivery"][];
                        nextCursor: string | null;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "tools-listNamespace": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
                name?: string;
                mcpUrl?: string;
                /** @description Only connections whose metadata holds these values: `metadata[userId]=alice` (or `metadata.userId=alice`); several keys must all match */
                metadata?: {
                    [key: string]: string;
                };
            };
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        connections: {
                            connectionId: string;
                            name: string;
                            status: components["schemas"]["ConnectionStatus"];
                            tools: components["schemas"]["Tool"][] | null;
                            error: string | null;
                        }[];
                        nextCursor: string | null;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "tools-list": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
                /** @description Connection id: 1 to 128 letters, digits and . _ ~ : @ - */
                connectionId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ToolList"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "tools-get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
                /** @description Connection id: 1 to 128 letters, digits and . _ ~ : @ - */
                connectionId: string;
                /** @description Tool name, or a category prefix; `/` may be sent as `%2F`, and `a/b` also finds the tool `a.b` */
                toolPath: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tool"] | components["schemas"]["ToolList"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "tools-invoke": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
                /** @description Connection id: 1 to 128 letters, digits and . _ ~ : @ - */
                connectionId: string;
                /** @description Tool name, or a category prefix; `/` may be sent as `%2F`, and `a/b` also finds the tool `a.b` */
                toolPath: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallToolResult"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "connections-list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
                name?: string;
                mcpUrl?: string;
                /** @description Only connections whose metadata holds these values: `metadata[userId]=alice` (or `metadata.userId=alice`); several keys must all match */
                metadata?: {
                    [key: string]: string;
                };
            };
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        connections: components["schemas"]["Connection"][];
                        /** @description Cursor of the next page, null on the last one */
                        nextCursor: string | null;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "connections-create": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description The upstream MCP server (http or https); query-string configuration stays in it */
                    mcpUrl: string;
                    /** @description Human-readable name (defaults to the connection id) */
                    name?: string;
                    /** @description Free-form JSON for your own bookkeeping, filterable in listings */
                    metadata?: {
                        [key: string]: unknown;
                    } | null;
                    /** @description Credential headers sent to the upstream on every request; stored encrypted, never returned. Replaces any stored ones. */
                    headers?: {
                        [key: string]: string;
                    };
                    /**
                     * @description Only http is supported
                     * @constant
                     */
                    transport?: "http";
                    /** @description Where the end user is sent back after authorizing the upstream (an origin the operator allowed in OAUTH_RETURN_ORIGINS) */
                    returnUrl?: string;
                    /** @description Accepted and ignored (sent by @smithery/api 0.50): Switchboard does not post server-to-client messages to a webhook; they arrive over the MCP endpoint */
                    unstableCallbackUrl?: string;
                    /** @description Not supported by Switchboard: a request that sends it is refused (400) */
                    mock?: unknown;
                    /** @description Not supported by Switchboard: a request that sends it is refused (400) */
                    source?: unknown;
                    /** @description Not supported by Switchboard: a request that sends it is refused (400) */
                    server?: unknown;
                };
            };
        };
        responses: {
            /** @description Successful response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Connection"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "connections-get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
                /** @description Connection id: 1 to 128 letters, digits and . _ ~ : @ - */
                connectionId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Connection"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "connections-set": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
                /** @description Connection id: 1 to 128 letters, digits and . _ ~ : @ - */
                connectionId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description The upstream MCP server (http or https); query-string configuration stays in it */
                    mcpUrl?: string;
                    /** @description Human-readable name (defaults to the connection id) */
                    name?: string;
                    /** @description Free-form JSON for your own bookkeeping, filterable in listings */
                    metadata?: {
                        [key: string]: unknown;
                    } | null;
                    /** @description Credential headers sent to the upstream on every request; stored encrypted, never returned. Replaces any stored ones. */
                    headers?: {
                        [key: string]: string;
                    };
                    /**
                     * @description Only http is supported
                     * @constant
                     */
                    transport?: "http";
                    /** @description Where the end user is sent back after authorizing the upstream (an origin the operator allowed in OAUTH_RETURN_ORIGINS) */
                    returnUrl?: string;
                    /** @description Accepted and ignored (sent by @smithery/api 0.50): Switchboard does not post server-to-client messages to a webhook; they arrive over the MCP endpoint */
                    unstableCallbackUrl?: string;
                    /** @description Not supported by Switchboard: a request that sends it is refused (400) */
                    mock?: unknown;
                    /** @description Not supported by Switchboard: a request that sends it is refused (400) */
                    source?: unknown;
                    /** @description Not supported by Switchboard: a request that sends it is refused (400) */
                    server?: unknown;
                };
            };
        };
        responses: {
            /** @description Successful response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Connection"];
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Conflict (carries `x-should-retry: false`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "connections-delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
                /** @description Connection id: 1 to 128 letters, digits and . _ ~ : @ - */
                connectionId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        success: true;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    "connections-reauthorize": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Namespace name: 3 to 39 lowercase letters, digits and hyphens */
                namespace: string;
                /** @description Connection id: 1 to 128 letters, digits and . _ ~ : @ - */
                connectionId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description Where the end user re-authorizes access upstream (single use) */
                        authorizationUrl: string;
                        /**
                         * Format: date-time
                         * @description When the link stops working
                         */
                        expiresAt: string;
                    };
                };
            };
            /** @description Invalid input */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing, malformed, expired or revoked credential */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The credential does not allow this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not found, or outside the credential’s reach */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Rate limit exceeded (carries `retry-after`) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
