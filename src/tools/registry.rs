//! The catalog of tools, in a stable order, and running one by name from JSON arguments.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Annotations, Caller, Ctx, Tool, ToolError, args};
use crate::audit::{self, CallKind, NewToolCall};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type CallFn = for<'a> fn(&'a Ctx, &'a Caller, Value) -> BoxFuture<'a, Result<Value, ToolError>>;

/// One tool as outside callers see it: the MCP server lists these, and the LLM loop offers them
/// to its model.
pub struct ToolDef {
    pub name: &'static str,
    pub description: &'static str,
    pub annotations: Annotations,
    /// JSON Schema (2020-12) of the arguments: an object without a tenant field.
    pub input_schema: Arc<Map<String, Value>>,
    /// JSON Schema (2020-12) of the result, an object.
    pub output_schema: Arc<Map<String, Value>>,
    call: CallFn,
}

impl ToolDef {
    fn of<T: Tool + 'static>() -> Self {
        Self {
            name: T::NAME,
            description: T::DESCRIPTION,
            annotations: T::ANNOTATIONS,
            input_schema: schema::<T::Args>(SchemaSettings::draft2020_12()),
            output_schema: schema::<T::Output>(SchemaSettings::draft2020_12().for_serialize()),
            call: call_typed::<T>,
        }
    }

    /// Runs the tool without recording it; [`call`] is what callers use.
    pub async fn run(&self, ctx: &Ctx, caller: &Caller, args: Value) -> Result<Value, ToolError> {
        (self.call)(ctx, caller, args).await
    }
}

fn call_typed<'a, T: Tool>(
    ctx: &'a Ctx,
    caller: &'a Caller,
    raw: Value,
) -> BoxFuture<'a, Result<Value, ToolError>> {
    Box::pin(async move {
        let parsed = args::parse::<T::Args>(raw)?;
        let output = T::run(ctx, caller, parsed).await?;
        let mut value = serde_json::to_value(output).map_err(|e| {
            ToolError::Infrastructure(crate::StoreError::invalid("output", e.to_string()))
        })?;
        // Every string of every result, not only the fields a view masks: no tool, present or
        // future, hands a credential or card number on to a model or a client (SECURITY.md D3).
        crate::secrets::redact_json(&mut value);
        Ok(value)
    })
}

fn schema<T: JsonSchema>(settings: SchemaSettings) -> Arc<Map<String, Value>> {
    let root = settings.into_generator().into_root_schema_for::<T>();
    let mut object = match serde_json::to_value(root) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    // The type's own name and doc comment are noise to a model; the tool's description says it.
    object.remove("title");
    object.remove("description");
    Arc::new(object)
}

static CATALOG: LazyLock<Vec<ToolDef>> = LazyLock::new(|| {
    vec![
        ToolDef::of::<super::LookupCustomer>(),
        ToolDef::of::<super::ListTickets>(),
        ToolDef::of::<super::GetTicket>(),
        ToolDef::of::<super::DraftReply>(),
        ToolDef::of::<super::UpdateTicket>(),
        ToolDef::of::<super::SearchKnowledge>(),
        ToolDef::of::<super::FetchStripeCharges>(),
        ToolDef::of::<super::CustomerOverview>(),
        ToolDef::of::<super::ListSubscriptions>(),
        ToolDef::of::<super::ListInvoices>(),
        ToolDef::of::<super::ProposeRefund>(),
        ToolDef::of::<super::ProposeSubscriptionCancel>(),
    ]
});

/// Every tool, always in the same order.
pub fn catalog() -> &'static [ToolDef] {
    &CATALOG
}

/// The tool called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static ToolDef> {
    catalog().iter().find(|t| t.name == name)
}

/// Runs the tool `name` from JSON arguments (an MCP client's, a model's) for `caller`, and
/// records the call (tool, argument hash, outcome, latency, transport) in the tenant's audit
/// trail through the context's [`crate::audit::AuditLog`].
pub async fn call(ctx: &Ctx, caller: &Caller, name: &str, args: Value) -> Result<Value, ToolError> {
    let tool =
        find(name).ok_or_else(|| ToolError::UnknownTool(name.chars().take(100).collect()))?;
    let args_hmac = ctx.audit().digest(&args);
    audited(
        ctx,
        caller,
        tool.name,
        args_hmac,
        tool.run(ctx, caller, args),
    )
    .await
}

/// Runs tool `T` with typed arguments (the offline engine's calls), recorded like [`call`].
pub async fn invoke<T: Tool>(
    ctx: &Ctx,
    caller: &Caller,
    args: T::Args,
) -> Result<T::Output, ToolError>
where
    T::Args: Serialize,
{
    let args_hmac = ctx
        .audit()
        .digest(&serde_json::to_value(&args).unwrap_or(Value::Null));
    audited(ctx, caller, T::NAME, args_hmac, T::run(ctx, caller, args)).await
}

async fn audited<O>(
    ctx: &Ctx,
    caller: &Caller,
    tool: &'static str,
    args_hmac: String,
    run: impl Future<Output = Result<O, ToolError>>,
) -> Result<O, ToolError> {
    let started = Instant::now();
    let result = run.await;
    let latency_us = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
    let outcome = match &result {
        Ok(_) => audit::Outcome::Ok,
        Err(e) => e.outcome(),
    };
    // A tool that failed before its first transaction leaves the request's held one unused.
    ctx.release_held();
    let record = NewToolCall {
        kind: CallKind::Tool,
        tool,
        args_hmac,
        outcome,
        latency_us,
        transport: caller.transport,
    };
    ctx.audit().record(&caller.tenant, record).await;
    if let Err(ToolError::Infrastructure(e)) = &result {
        tracing::error!(tool, tenant = %caller.tenant, error = %e, "tool call failed");
    }
    result
}
