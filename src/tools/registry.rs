//! The catalog of tools, in a stable order, and running one by name from JSON arguments.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use super::{Annotations, Tool, ToolError, args};
use crate::audit::{self, AuditLog, NewToolCall, Transport};
use crate::{Db, Tenant};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type CallFn = for<'a> fn(&'a Db, &'a Tenant, Value) -> BoxFuture<'a, Result<Value, ToolError>>;

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

    /// Runs the tool for `tenant` without recording it; [`call`] is what callers use.
    pub async fn run(&self, db: &Db, tenant: &Tenant, args: Value) -> Result<Value, ToolError> {
        (self.call)(db, tenant, args).await
    }
}

fn call_typed<'a, T: Tool>(
    db: &'a Db,
    tenant: &'a Tenant,
    raw: Value,
) -> BoxFuture<'a, Result<Value, ToolError>> {
    Box::pin(async move {
        let parsed = args::parse::<T::Args>(raw)?;
        let output = T::run(db, tenant, parsed).await?;
        serde_json::to_value(output).map_err(|e| {
            ToolError::Infrastructure(crate::StoreError::invalid("output", e.to_string()))
        })
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

/// Runs the tool `name` for `tenant` and records the call (tool, argument hash, outcome,
/// latency, transport) in the tenant's audit trail before returning.
pub async fn call(
    db: &Db,
    tenant: &Tenant,
    transport: Transport,
    name: &str,
    args: Value,
) -> Result<Value, ToolError> {
    let audit = AuditLog::direct(db.clone());
    call_with(db, &audit, tenant, transport, name, args).await
}

/// [`call`], recording through `audit` (the HTTP server's batched writer).
pub async fn call_with(
    db: &Db,
    audit: &AuditLog,
    tenant: &Tenant,
    transport: Transport,
    name: &str,
    args: Value,
) -> Result<Value, ToolError> {
    let tool =
        find(name).ok_or_else(|| ToolError::UnknownTool(name.chars().take(100).collect()))?;
    let args_sha256 = audit::hash_arguments(&args);
    let started = Instant::now();
    let result = tool.run(db, tenant, args).await;
    let latency_us = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
    let outcome = match &result {
        Ok(_) => audit::Outcome::Ok,
        Err(e) => e.outcome(),
    };
    let record = NewToolCall {
        tool: tool.name,
        args_sha256,
        outcome,
        latency_us,
        transport,
    };
    audit.record(tenant, record).await;
    if let Err(ToolError::Infrastructure(e)) = &result {
        tracing::error!(tool = tool.name, %tenant, error = %e, "tool call failed");
    }
    result
}
