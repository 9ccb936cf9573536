//! The REST API under `/api/v1`: every operation declared once, with its access, and both the
//! router and the OpenAPI document built from that one list.

mod actions;
mod api_keys;
mod auth;
mod channels;
mod common;
mod customers;
mod intake;
mod knowledge;
mod me;
mod messages;
mod settings;
mod stats;
mod tickets;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use super::AppState;
use super::authn::{authenticate, authenticate_intake, require_full_scope};
use super::openapi::{self, Access, Op};
use crate::accounts::{ApiKey, NewApiKey, Tokens, UserView};
use crate::channels::email::ChannelView;
use crate::channels::intake::{
    IntakeMessageCreated, IntakeTicketCreated, NewIntakeMessage, NewIntakeTicket,
};
use crate::channels::signature::NewSecret;
use crate::desk::CustomerExport;
use crate::knowledge::Document;
use crate::settings::TenantSettings;
use crate::stats::outcomes::Outcomes;
use crate::stats::tenant::TenantStats;
use crate::tools::{
    CustomerView, GetTicketOutput, MessageView, SearchKnowledgeOutput, TicketSummaryView,
    TicketView,
};
use common::Items;

/// Operations and their handlers, grouped by the access they need.
#[derive(Default)]
struct Table {
    ops: Vec<Op>,
    public: Router<AppState>,
    staff: Router<AppState>,
    intake: Router<AppState>,
}

impl Table {
    fn add(mut self, op: Op, handler: MethodRouter<AppState>) -> Self {
        let group = match op.access {
            Access::Public => &mut self.public,
            Access::Staff => &mut self.staff,
            Access::Intake => &mut self.intake,
        };
        *group = std::mem::take(group).route(op.path, handler);
        self.ops.push(op);
        self
    }
}

const CUSTOMER_LINKS: &[(&str, &str, &str, &str)] = &[
    ("GetCustomer", "getCustomer", "id", "$response.body#/id"),
    (
        "UpdateCustomer",
        "updateCustomer",
        "id",
        "$response.body#/id",
    ),
    (
        "DeleteCustomer",
        "deleteCustomer",
        "id",
        "$response.body#/id",
    ),
    (
        "ExportCustomer",
        "exportCustomer",
        "id",
        "$response.body#/id",
    ),
];
const TICKET_LINKS: &[(&str, &str, &str, &str)] = &[
    ("GetTicket", "getTicket", "id", "$response.body#/id"),
    ("UpdateTicket", "updateTicket", "id", "$response.body#/id"),
    ("ListMessages", "listMessages", "id", "$response.body#/id"),
    ("AddMessage", "addMessage", "id", "$response.body#/id"),
    (
        "RetriageTicket",
        "retriageTicket",
        "id",
        "$response.body#/id",
    ),
    ("DeleteTicket", "deleteTicket", "id", "$response.body#/id"),
];
const DOCUMENT_LINKS: &[(&str, &str, &str, &str)] = &[(
    "DeleteDocument",
    "deleteDocument",
    "id",
    "$response.body#/id",
)];

const INTAKE_HEADERS: &[(&str, &str)] = &[
    (
        "Idempotency-Key",
        "Makes a retry safe: the same key and body get the first answer; the same key with \
         another body is refused (422).",
    ),
    (
        "X-Support-Signature",
        "Instead of a bearer credential: t=<unix>,k=<key_id>,v1=<hex HMAC-SHA256(secret, t + \
         \".\" + body)>.",
    ),
];

fn table(upload_limit: usize) -> Table {
    let o = Op::new;
    Table::default()
        // Accounts (F1).
        .add(
            o(
                "post",
                "/auth/register",
                "register",
                "accounts",
                "Sign up: the account and its first session",
            )
            .public()
            .body::<auth::Register>()
            .answers::<Tokens>(201, "The account, signed in"),
            post(auth::register),
        )
        .add(
            o(
                "post",
                "/auth/login",
                "login",
                "accounts",
                "Log in with email and password",
            )
            .public()
            .body::<auth::Login>()
            .answers::<Tokens>(200, "Signed in"),
            post(auth::login),
        )
        .add(
            o(
                "post",
                "/auth/refresh",
                "refresh",
                "accounts",
                "A new token pair for a refresh token (rotated on every use)",
            )
            .public()
            .body::<auth::Refresh>()
            .answers::<Tokens>(200, "A new pair"),
            post(auth::refresh),
        )
        .add(
            o(
                "post",
                "/auth/logout",
                "logout",
                "accounts",
                "End this session at once",
            )
            .no_content("Logged out"),
            post(auth::logout),
        )
        .add(
            o("get", "/me", "getMe", "accounts", "The account")
                .answers::<UserView>(200, "The account"),
            get(me::show),
        )
        .add(
            o("patch", "/me", "renameMe", "accounts", "Rename the account")
                .body::<me::Rename>()
                .answers::<UserView>(200, "The account"),
            patch(me::rename),
        )
        .add(
            o(
                "delete",
                "/me",
                "deleteMe",
                "accounts",
                "Delete the account and everything it owns",
            )
            .body::<me::Delete>()
            .no_content("Deleted"),
            delete(me::delete),
        )
        .add(
            o(
                "post",
                "/me/password",
                "changePassword",
                "accounts",
                "Change the password; ends the other sessions",
            )
            .body::<me::ChangePassword>()
            .no_content("Changed"),
            post(me::change_password),
        )
        .add(
            o(
                "post",
                "/api-keys",
                "createApiKey",
                "accounts",
                "Create an API key (shown once)",
            )
            .body::<api_keys::NewKey>()
            .answers::<NewApiKey>(201, "The key, shown this once"),
            post(api_keys::create),
        )
        .add(
            o(
                "get",
                "/api-keys",
                "listApiKeys",
                "accounts",
                "The API keys, never the keys themselves",
            )
            .answers::<Items<ApiKey>>(200, "The keys"),
            get(api_keys::list),
        )
        .add(
            o(
                "delete",
                "/api-keys/{id}",
                "deleteApiKey",
                "accounts",
                "Delete an API key: refused at once",
            )
            .no_content("Deleted"),
            delete(api_keys::delete),
        )
        // Customers.
        .add(
            o(
                "get",
                "/customers",
                "listCustomers",
                "customers",
                "Customers, oldest first, or those matching a query",
            )
            .query::<customers::ListQuery>()
            .answers::<Items<CustomerView>>(200, "One page"),
            get(customers::list),
        )
        .add(
            o(
                "post",
                "/customers",
                "createCustomer",
                "customers",
                "Create a customer",
            )
            .body::<customers::NewCustomerBody>()
            .answers::<CustomerView>(201, "The customer")
            .links(CUSTOMER_LINKS),
            post(customers::create),
        )
        .add(
            o(
                "get",
                "/customers/{id}",
                "getCustomer",
                "customers",
                "A customer, with their open tickets counted",
            )
            .answers::<CustomerView>(200, "The customer"),
            get(customers::show),
        )
        .add(
            o(
                "patch",
                "/customers/{id}",
                "updateCustomer",
                "customers",
                "Change a customer",
            )
            .body::<customers::CustomerPatch>()
            .answers::<CustomerView>(200, "The customer"),
            patch(customers::update),
        )
        .add(
            o(
                "delete",
                "/customers/{id}",
                "deleteCustomer",
                "customers",
                "Delete a customer with their tickets and messages",
            )
            .no_content("Deleted"),
            delete(customers::delete),
        )
        .add(
            o(
                "get",
                "/customers/{id}/export",
                "exportCustomer",
                "customers",
                "Everything held about a customer",
            )
            .answers::<CustomerExport>(200, "The export"),
            get(customers::export),
        )
        // Tickets.
        .add(
            o(
                "get",
                "/tickets",
                "listTickets",
                "tickets",
                "Tickets, newest first, filtered",
            )
            .query::<tickets::ListQuery>()
            .answers::<Items<TicketSummaryView>>(200, "One page"),
            get(tickets::list),
        )
        .add(
            o(
                "post",
                "/tickets",
                "createTicket",
                "tickets",
                "Open a ticket (triage is queued)",
            )
            .body::<tickets::NewTicketBody>()
            .answers::<TicketView>(201, "The ticket")
            .links(TICKET_LINKS),
            post(tickets::create),
        )
        .add(
            o(
                "get",
                "/tickets/{id}",
                "getTicket",
                "tickets",
                "A ticket with its customer and latest messages",
            )
            .query::<tickets::ShowQuery>()
            .answers::<GetTicketOutput>(200, "The ticket")
            .etag(),
            get(tickets::show),
        )
        .add(
            o(
                "patch",
                "/tickets/{id}",
                "updateTicket",
                "tickets",
                "Change status and/or priority (If-Match: only if unchanged)",
            )
            .body::<tickets::TicketPatch>()
            .answers::<TicketView>(200, "The ticket")
            .etag(),
            patch(tickets::update),
        )
        .add(
            o(
                "delete",
                "/tickets/{id}",
                "deleteTicket",
                "tickets",
                "Delete a ticket with its messages",
            )
            .no_content("Deleted"),
            delete(tickets::delete),
        )
        .add(
            o(
                "post",
                "/tickets/{id}/triage",
                "retriageTicket",
                "tickets",
                "Run triage again (replaces a draft still in state draft)",
            )
            .answers::<tickets::Queued>(202, "Queued"),
            post(tickets::retriage),
        )
        // Messages and drafts.
        .add(
            o(
                "get",
                "/tickets/{id}/messages",
                "listMessages",
                "messages",
                "A ticket's latest messages, oldest first",
            )
            .query::<messages::ListQuery>()
            .answers::<Items<MessageView>>(200, "One page"),
            get(messages::list),
        )
        .add(
            o(
                "post",
                "/tickets/{id}/messages",
                "addMessage",
                "messages",
                "Add a reply, the customer's words, or an internal note",
            )
            .body::<messages::NewMessageBody>()
            .answers::<MessageView>(201, "The message"),
            post(messages::create),
        )
        .add(
            o(
                "patch",
                "/tickets/{id}/drafts/{message_id}",
                "editDraft",
                "drafts",
                "Edit a draft (the model's text is kept)",
            )
            .body::<messages::DraftEdit>()
            .answers::<MessageView>(200, "The draft"),
            patch(messages::edit_draft),
        )
        .add(
            o(
                "post",
                "/tickets/{id}/drafts/{message_id}/approve",
                "approveDraft",
                "drafts",
                "Approve a draft (with a last edit) and send it",
            )
            .body::<messages::ApproveBody>()
            .answers::<MessageView>(200, "The draft, approved"),
            post(messages::approve),
        )
        // Stripe actions (I2).
        .add(
            o(
                "get",
                "/actions",
                "listActions",
                "actions",
                "Proposed refunds and cancellations, newest first, filtered",
            )
            .query::<actions::ListQuery>()
            .answers::<Items<crate::actions::Action>>(200, "One page"),
            get(actions::list),
        )
        .add(
            o(
                "post",
                "/actions/{id}/approve",
                "approveAction",
                "actions",
                "Approve a pending action and carry it out at Stripe, exactly once",
            )
            .answers::<crate::actions::Action>(
                200,
                "The action, succeeded or failed (with Stripe's error)",
            )
            .also(
                202,
                "The action, still executing: Stripe did not answer, and it is finished with \
                 the same idempotency key",
            ),
            post(actions::approve),
        )
        .add(
            o(
                "post",
                "/actions/{id}/reject",
                "rejectAction",
                "actions",
                "Reject a pending action; nothing is sent to Stripe",
            )
            .body::<actions::RejectBody>()
            .answers::<crate::actions::Action>(200, "The action, rejected"),
            post(actions::reject),
        )
        .add(
            o(
                "post",
                "/tickets/{id}/drafts/{message_id}/discard",
                "discardDraft",
                "drafts",
                "Discard a draft",
            )
            .answers::<MessageView>(200, "The draft, discarded"),
            post(messages::discard),
        )
        .add(
            o(
                "post",
                "/tickets/{id}/messages/{message_id}/resend",
                "resendMessage",
                "messages",
                "Send a reply again after a failed, uncertain or no_channel delivery",
            )
            .answers::<MessageView>(202, "Queued for delivery"),
            post(messages::resend),
        )
        // Intake (G1): from the tenant's own site or back end.
        .add(
            o(
                "post",
                "/intake/tickets",
                "intakeTicket",
                "intake",
                "Open a ticket for a customer found by email or created (triage is queued)",
            )
            .intake()
            .body::<NewIntakeTicket>()
            .headers(INTAKE_HEADERS)
            .answers::<IntakeTicketCreated>(201, "The ticket and its customer"),
            post(intake::create_ticket),
        )
        .add(
            o(
                "post",
                "/intake/tickets/{id}/messages",
                "intakeMessage",
                "intake",
                "Add the ticket's customer's message (404 for anyone else)",
            )
            .intake()
            .body::<NewIntakeMessage>()
            .headers(INTAKE_HEADERS)
            .answers::<IntakeMessageCreated>(201, "The message"),
            post(intake::add_message),
        )
        // Channels (G1).
        .add(
            o(
                "post",
                "/channels/webhook/secret",
                "createWebhookSecret",
                "channels",
                "Create a signing secret for the intake webhook (shown once)",
            )
            .answers::<NewSecret>(201, "The secret, shown this once"),
            post(channels::create_secret),
        )
        .add(
            o(
                "put",
                "/channels/email",
                "putEmailChannel",
                "channels",
                "Set the email channel replies are sent from",
            )
            .body::<channels::EmailChannelBody>()
            .answers::<ChannelView>(200, "The channel (never the password)"),
            put(channels::put_email),
        )
        .add(
            o(
                "get",
                "/channels/email",
                "getEmailChannel",
                "channels",
                "The email channel (never the password)",
            )
            .answers::<ChannelView>(200, "The channel"),
            get(channels::get_email),
        )
        .add(
            o(
                "delete",
                "/channels/email",
                "deleteEmailChannel",
                "channels",
                "Forget the email channel",
            )
            .no_content("Removed"),
            delete(channels::delete_email),
        )
        // Knowledge base.
        .add(
            o(
                "get",
                "/knowledge/documents",
                "listDocuments",
                "knowledge",
                "The knowledge base's documents",
            )
            .answers::<Items<Document>>(200, "The documents"),
            get(knowledge::list),
        )
        .add(
            o(
                "post",
                "/knowledge/documents",
                "uploadDocument",
                "knowledge",
                "Upload a document (Markdown, text, HTML, PDF)",
            )
            .upload()
            .answers::<Document>(201, "The document, ingested")
            .links(DOCUMENT_LINKS),
            post(knowledge::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .add(
            o(
                "delete",
                "/knowledge/documents/{id}",
                "deleteDocument",
                "knowledge",
                "Delete a document and its chunks",
            )
            .no_content("Deleted"),
            delete(knowledge::delete),
        )
        .add(
            o(
                "get",
                "/knowledge/search",
                "searchKnowledge",
                "knowledge",
                "What search_knowledge answers for a question",
            )
            .query::<knowledge::SearchQuery>()
            .answers::<SearchKnowledgeOutput>(200, "The passages"),
            get(knowledge::search),
        )
        // Settings.
        .add(
            o(
                "get",
                "/settings",
                "getSettings",
                "settings",
                "The tenant's settings",
            )
            .answers::<TenantSettings>(200, "The settings"),
            get(settings::show),
        )
        .add(
            o(
                "put",
                "/settings",
                "putSettings",
                "settings",
                "Change the tenant's settings (the hosts a draft may link to)",
            )
            .body::<settings::SettingsBody>()
            .answers::<TenantSettings>(200, "The settings as they are now"),
            put(settings::update),
        )
        // Figures.
        .add(
            o(
                "get",
                "/stats",
                "getStats",
                "figures",
                "The tenant's tickets of the last days by status, priority, category",
            )
            .query::<stats::StatsQuery>()
            .answers::<TenantStats>(200, "The figures"),
            get(stats::show),
        )
        .add(
            o(
                "get",
                "/outcomes",
                "getOutcomes",
                "figures",
                "What became of the agent's drafts over the last days: approved unchanged, \
                 edited (and how much), discarded; time to the first approved reply; by category",
            )
            .query::<stats::OutcomesQuery>()
            .answers::<Outcomes>(200, "The figures"),
            get(stats::outcomes),
        )
}

/// The contract: the OpenAPI document of every operation.
pub fn contract() -> serde_json::Value {
    let mut ops = table(0).ops;
    ops.push(
        Op::new(
            "get",
            "/openapi.json",
            "getContract",
            "contract",
            "This document",
        )
        .public()
        .answers::<serde_json::Value>(200, "The OpenAPI 3.1 document"),
    );
    openapi::document(&ops)
}

/// `/api/v1/…`, to be nested. `upload_limit` bounds upload bodies (the rest use the server's).
pub fn api(state: AppState, upload_limit: usize) -> Router {
    let t = table(upload_limit);
    let contract = contract();
    let public = t.public.route(
        "/openapi.json",
        get(move || {
            let doc = contract.clone();
            async move { axum::Json(doc).into_response() }
        }),
    );
    let intake = t.intake.layer(middleware::from_fn_with_state(
        state.clone(),
        authenticate_intake,
    ));
    let staff = t
        .staff
        .layer(middleware::from_fn(require_full_scope))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    public.merge(intake).merge(staff).with_state(state)
}
