//! The REST API's contract, OpenAPI 3.1, generated from the very operations the router serves:
//! each route is declared once as an [`Op`] — method, path, summary, parameters and the Rust
//! types of its body and answers, whose JSON Schemas (2020-12, OpenAPI 3.1's dialect) come from
//! schemars, as MCP's tool schemas do — and both the router and the document are built from that
//! list, so the two cannot drift. The document is served at `/api/v1/openapi.json` and committed
//! as `docs/openapi.json`.

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential (sign-up, login, the contract itself).
    Public,
    /// A full-scope access token or API key.
    Staff,
    /// Any credential, an `intake` API key included.
    Intake,
}

/// How a schema is produced: deferred until the document is built.
pub type SchemaFn = fn() -> Value;

/// One operation of the API.
#[derive(Clone)]
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// Query parameters: the properties of this type.
    pub query: Option<SchemaFn>,
    /// The JSON body's schema.
    pub body: Option<SchemaFn>,
    /// A multipart upload with a `file` field.
    pub upload: bool,
    /// The success answer: status, description, body schema (none for `204`).
    pub ok: (u16, &'static str, Option<SchemaFn>),
    /// A second success answer with the same body (e.g. `202` for work that is not finished).
    pub also: Option<(u16, &'static str)>,
    /// Extra headers or statuses worth documenting (`ETag`, `If-Match` and `412`).
    pub etag: bool,
    /// Optional request headers worth documenting: (name, description).
    pub headers: &'static [(&'static str, &'static str)],
    /// Links from the success answer to other operations: (name, operationId, parameter,
    /// expression), for stateful testing and for readers.
    pub links: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

/// The schema of `T` as a deserialised request.
pub fn schema_in<T: JsonSchema>() -> Value {
    let mut g: SchemaGenerator = settings().for_deserialize().into_generator();
    clean(g.root_schema_for::<T>().to_value())
}

/// The schema of `T` as a serialised answer.
pub fn schema_out<T: JsonSchema>() -> Value {
    let mut g: SchemaGenerator = settings().for_serialize().into_generator();
    clean(g.root_schema_for::<T>().to_value())
}

fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    })
}

fn clean(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
        o.remove("title");
    }
    v
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

/// The OpenAPI document of `ops`.
pub fn document(ops: &[Op]) -> Value {
    let mut paths = Map::new();
    for op in ops {
        let mut operation = Map::new();
        operation.insert("operationId".into(), json!(op.id));
        operation.insert("tags".into(), json!([op.tag]));
        operation.insert("summary".into(), json!(op.summary));
        let mut params = Vec::new();
        for name in path_params(op.path) {
            params.push(json!({"name": name, "in": "path", "required": true,
                               "schema": {"type": "string", "format": "uuid"}}));
        }
        if let Some(query) = op.query {
            let schema = query();
            let required: Vec<String> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect();
            if let Some(props) = schema["properties"].as_object() {
                for (name, s) in props {
                    // A query parameter is absent or has a value: it cannot be null.
                    let mut s = without_null(s.clone());
                    let description = s.as_object_mut().and_then(|o| o.remove("description"));
                    let mut p = json!({"name": name, "in": "query", "required": required.contains(name),
                                       "schema": s});
                    if let Some(d) = description {
                        p["description"] = d;
                    }
                    params.push(p);
                }
            }
        }
        if op.etag {
            params.push(
                json!({"name": "If-Match", "in": "header", "required": false,
                "description": "The ETag of the ticket as last read: 412 when it changed since.",
                "schema": {"type": "string"}}),
            );
        }
        for (name, description) in op.headers {
            params.push(json!({"name": name, "in": "header", "required": false,
                               "description": description, "schema": {"type": "string"}}));
        }
        if !params.is_empty() {
            operation.insert("parameters".into(), Value::Array(params));
        }
        if let Some(body) = op.body {
            operation.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": body()}}}),
            );
        } else if op.upload {
            operation.insert("requestBody".into(), json!({"required": true, "content": {
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                    "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                        "description": "The document: Markdown, text, HTML or PDF, named with its extension."}}}}}}));
        }
        let (status, description, schema) = op.ok;
        let mut ok = json!({"description": description});
        if let Some(schema) = schema {
            ok["content"] = json!({"application/json": {"schema": schema()}});
        }
        if op.etag && op.method == "get" {
            ok["headers"] = json!({"ETag": {"schema": {"type": "string"},
                "description": "Send it back as If-Match to change the ticket only if nobody else did."}});
        }
        if !op.links.is_empty() {
            let mut links = Map::new();
            for (name, target, param, expression) in op.links {
                links.insert(
                    (*name).into(),
                    json!({"operationId": target, "parameters": {*param: expression}}),
                );
            }
            ok["links"] = Value::Object(links);
        }
        let mut responses = Map::new();
        if let (Some((also, description)), Some(schema)) = (op.also, schema) {
            responses.insert(
                also.to_string(),
                json!({"description": description,
                       "content": {"application/json": {"schema": schema()}}}),
            );
        }
        responses.insert(status.to_string(), ok);
        if op.etag && op.method == "patch" {
            responses.insert(
                "412".into(),
                problem_response("The ticket changed since it was read"),
            );
        }
        if op.access != Access::Public {
            responses.insert("401".into(), problem_response("No valid credential"));
        }
        responses.insert(
            "default".into(),
            problem_response("An error, as an RFC 9457 problem document"),
        );
        operation.insert("responses".into(), Value::Object(responses));
        match op.access {
            Access::Public => {
                operation.insert("security".into(), json!([]));
            }
            // Either a credential or a signature by a secret of the tenant's.
            Access::Intake => {
                operation.insert(
                    "security".into(),
                    json!([{"bearer": []}, {"signature": []}]),
                );
            }
            Access::Staff => {}
        }
        let path = paths
            .entry(format!("/api/v1{}", op.path))
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(p) = path.as_object_mut() {
            p.insert(op.method.into(), Value::Object(operation));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "support-agent REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The desk's REST API: accounts, customers, tickets, messages, drafts, \
                the knowledge base, channels and figures. Every route but sign-up, login, refresh and this \
                document needs `Authorization: Bearer <access token | API key>`. Errors are RFC \
                9457 problem documents. Lists answer `{items, next_cursor}`; pass `next_cursor` \
                back as `cursor` for the next page.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                    "description": "An access token (from login) or an API key (sa_…)."},
                "signature": {"type": "apiKey", "in": "header", "name": "X-Support-Signature",
                    "description": "Intake routes only: t=<unix>,k=<key_id>,v1=<hex \
                        HMAC-SHA256(secret, t + \".\" + body)>, within 5 minutes, each \
                        signature once (secrets from POST /api/v1/channels/webhook/secret)."},
            },
            "schemas": {"Problem": schema_out::<super::problem::Document>()},
        },
    })
}

fn without_null(mut s: Value) -> Value {
    if let Some(o) = s.as_object_mut() {
        if let Some(Value::Array(types)) = o.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types.remove(0);
                o.insert("type".into(), only);
            }
        }
        if let Some(Value::Array(values)) = o.get_mut("enum") {
            values.retain(|v| !v.is_null());
        }
        if let Some(Value::Array(any)) = o.get("anyOf").cloned() {
            let kept: Vec<Value> = any
                .into_iter()
                .filter(|v| v.get("type") != Some(&Value::String("null".into())))
                .collect();
            if kept.len() == 1 {
                o.remove("anyOf");
                if let Some(Value::Object(inner)) = kept.into_iter().next() {
                    for (k, v) in inner {
                        o.entry(k).or_insert(v);
                    }
                }
            } else {
                o.insert("anyOf".into(), Value::Array(kept));
            }
        }
    }
    s
}

fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

impl Op {
    /// An operation with nothing but its identity; the builders below add the rest.
    pub fn new(
        method: &'static str,
        path: &'static str,
        id: &'static str,
        tag: &'static str,
        summary: &'static str,
    ) -> Self {
        Self {
            method,
            path,
            id,
            tag,
            summary,
            access: Access::Staff,
            query: None,
            body: None,
            upload: false,
            ok: (204, "Done", None),
            also: None,
            etag: false,
            headers: &[],
            links: &[],
        }
    }

    pub fn public(mut self) -> Self {
        self.access = Access::Public;
        self
    }

    pub fn intake(mut self) -> Self {
        self.access = Access::Intake;
        self
    }

    pub fn query<Q: JsonSchema>(mut self) -> Self {
        self.query = Some(schema_in::<Q>);
        self
    }

    pub fn body<B: JsonSchema>(mut self) -> Self {
        self.body = Some(schema_in::<B>);
        self
    }

    pub fn upload(mut self) -> Self {
        self.upload = true;
        self
    }

    pub fn answers<T: JsonSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.ok = (status, description, Some(schema_out::<T>));
        self
    }

    /// Another success status with the same body as [`Op::answers`].
    pub fn also(mut self, status: u16, description: &'static str) -> Self {
        self.also = Some((status, description));
        self
    }

    pub fn no_content(mut self, description: &'static str) -> Self {
        self.ok = (204, description, None);
        self
    }

    /// Documents optional request headers.
    pub fn headers(mut self, headers: &'static [(&'static str, &'static str)]) -> Self {
        self.headers = headers;
        self
    }

    pub fn etag(mut self) -> Self {
        self.etag = true;
        self
    }

    pub fn links(
        mut self,
        links: &'static [(&'static str, &'static str, &'static str, &'static str)],
    ) -> Self {
        self.links = links;
        self
    }
}
