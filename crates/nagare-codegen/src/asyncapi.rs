//! The AsyncAPI 3.0 document of an API's WebSocket endpoints.
//!
//! One channel per streaming method: its address is the route, its query and
//! header parameters are the WebSocket channel binding's (path parameters are
//! the channel's own), and its messages are what each side sends. Operations
//! are written from the server's side, as AsyncAPI 3 reads them: the server
//! `receive`s the client's stream and `send`s results. A result type with
//! views has one message per view. What the protocol adds beyond messages,
//! which AsyncAPI has no words for, travels in `x-nagare-*` extensions: the
//! designed errors with their HTTP statuses and close code, the close codes
//! of the protocol, the subprotocols, and the `nagare.v1` resume extension,
//! whose frames are also described as messages of the resumable channels.

use nagare_design::{Api, Location, StreamKind};
use serde_json::{json, Map, Value};

use crate::example;
use crate::model::MethodInfo;
use crate::names::{pascal, snake};
use crate::schema::Schemas;
use crate::spec_parts::{self, Param};
use crate::GenerateError;

/// The document, as JSON.
pub(crate) fn document(api: &Api) -> Result<Value, GenerateError> {
    let mut schemas = Schemas::default();
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    for service in &api.services {
        schemas.enter_service(&service.name);
        for method in &service.methods {
            let info = MethodInfo::new(api, service, method)?;
            if !info.kind.is_streaming() {
                continue;
            }
            let id = format!("{}_{}", snake(&service.name), snake(&method.name));
            let mut ch = Channel::new(&id);
            channel_messages(&info, &mut ch, &mut schemas);
            let errors = spec_parts::errors(service, &info, &mut schemas);
            let params = spec_parts::params(&info, &mut schemas);
            let mut channel = Map::new();
            channel.insert("address".into(), spec_parts::path(&info.route.path).into());
            channel.insert(
                "title".into(),
                format!("{}.{}", service.name, method.name).into(),
            );
            if let Some(d) = &method.description {
                channel.insert("description".into(), d.clone().into());
            }
            let path_params: Map<String, Value> = params
                .iter()
                .filter(|p| p.location == Location::Path)
                .map(|p| (p.wire.clone(), path_parameter(p)))
                .collect();
            if !path_params.is_empty() {
                channel.insert("parameters".into(), path_params.into());
            }
            channel.insert(
                "messages".into(),
                Value::Object(
                    ch.all()
                        .map(|m| {
                            (
                                m.key.clone(),
                                json!({"$ref": format!("#/components/messages/{}", m.component)}),
                            )
                        })
                        .collect(),
                ),
            );
            channel.insert("bindings".into(), json!({"ws": ws_binding(&params)}));
            channel.insert("x-nagare-pattern".into(), pattern(info.kind).into());
            let subprotocols = subprotocols(&info);
            if !subprotocols.is_empty() {
                channel.insert("x-nagare-subprotocols".into(), subprotocols.into());
            }
            if !errors.is_empty() {
                channel.insert(
                    "x-nagare-errors".into(),
                    errors
                        .iter()
                        .map(|e| {
                            let mut m = Map::new();
                            m.insert("name".into(), e.name.clone().into());
                            if let Some(d) = &e.description {
                                m.insert("description".into(), d.clone().into());
                            }
                            if let Some(s) = e.status {
                                m.insert("status".into(), s.into());
                            }
                            m.insert("closeCode".into(), 4000.into());
                            m.insert(
                                "closeReason".into(),
                                format!("{}: <message>", e.name).into(),
                            );
                            m.insert("schema".into(), e.schema.clone());
                            Value::Object(m)
                        })
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
            if let Some(room) = &method.room {
                channel.insert(
                    "x-nagare-resume".into(),
                    json!({
                        "subprotocol": "nagare.v1",
                        "resumePoint": "nagare.resume.<epoch>.<seq>",
                        "history": room.history,
                        "key": room.key,
                        "tooFarBehindCloseCode": 4010,
                    }),
                );
            }
            let channel_ref = json!({"$ref": format!("#/channels/{id}")});
            let security = security(&info);
            for (action, list) in [("receive", &ch.receive), ("send", &ch.send)] {
                if list.is_empty() {
                    continue;
                }
                let mut op = Map::new();
                op.insert("action".into(), action.into());
                op.insert("channel".into(), channel_ref.clone());
                op.insert(
                    "summary".into(),
                    match action {
                        "receive" => format!(
                            "What the client of {}.{} streams",
                            service.name, method.name
                        ),
                        _ => format!(
                            "What {}.{} streams to its client",
                            service.name, method.name
                        ),
                    }
                    .into(),
                );
                if let Some(d) = &method.description {
                    op.insert("description".into(), d.clone().into());
                }
                op.insert(
                    "messages".into(),
                    list.iter()
                        .map(|m| json!({"$ref": format!("#/channels/{id}/messages/{}", m.key)}))
                        .collect::<Vec<_>>()
                        .into(),
                );
                if !security.0.is_empty() {
                    op.insert("security".into(), security.0.clone().into());
                    op.insert("x-nagare-scopes".into(), security.1.clone().into());
                }
                operations.insert(format!("{id}_{action}"), op.into());
            }
            for m in ch.all() {
                messages.insert(m.component.clone(), m.message.clone());
            }
            channels.insert(id, channel.into());
        }
    }
    let mut doc = Map::new();
    doc.insert("asyncapi".into(), "3.0.0".into());
    doc.insert("info".into(), spec_parts::info(api));
    doc.insert("defaultContentType".into(), "application/json".into());
    if !api.servers.is_empty() {
        doc.insert("servers".into(), servers(api));
    }
    doc.insert("channels".into(), channels.into());
    doc.insert("operations".into(), operations.into());
    let mut components = Map::new();
    components.insert("schemas".into(), schemas.into_value());
    components.insert("messages".into(), messages.into());
    let schemes = security_schemes(api);
    if !schemes.is_empty() {
        components.insert("securitySchemes".into(), schemes.into());
    }
    doc.insert("components".into(), components.into());
    doc.insert("x-nagare-close-codes".into(), close_codes());
    Ok(doc.into())
}

/// One message of a channel: its key in the channel, its name under
/// `#/components/messages`, and the message object.
struct ChannelMessage {
    key: String,
    component: String,
    message: Value,
}

/// The messages of one channel, by who sends them.
struct Channel {
    id: String,
    /// Sent by the client, received by the server.
    receive: Vec<ChannelMessage>,
    /// Sent by the server.
    send: Vec<ChannelMessage>,
}

impl Channel {
    fn new(id: &str) -> Self {
        Channel {
            id: id.to_owned(),
            receive: Vec::new(),
            send: Vec::new(),
        }
    }

    fn message(&self, key: &str, name: &str, summary: &str, payload: Value) -> ChannelMessage {
        ChannelMessage {
            key: key.to_owned(),
            component: format!("{}_{key}", self.id),
            message: json!({
                "name": name,
                "summary": summary,
                "contentType": "application/json",
                "payload": payload,
            }),
        }
    }

    /// A message with an example payload, when one can be made.
    fn with_example(mut m: ChannelMessage, example: Option<Value>) -> ChannelMessage {
        if let (Some(e), Value::Object(o)) = (example, &mut m.message) {
            o.insert(
                "examples".into(),
                json!([{"name": "example", "payload": e}]),
            );
        }
        m
    }

    fn all(&self) -> impl Iterator<Item = &ChannelMessage> {
        self.receive.iter().chain(&self.send)
    }
}

fn channel_messages(info: &MethodInfo<'_>, ch: &mut Channel, schemas: &mut Schemas) {
    if let Some(ty) = &info.method.streaming_payload {
        let name = format!("{}StreamingPayload", info.pascal);
        let schema = schemas.of(ty, &name);
        let m = ch.message(
            "clientMessage",
            &name,
            "A message the client streams",
            schema,
        );
        ch.receive.push(Channel::with_example(m, example::of(ty)));
        let end = ch.message(
            "endOfStream",
            "EndOfStream",
            "The client's last message: JSON null ends its stream",
            json!({"type": "null"}),
        );
        ch.receive.push(end);
    }
    let Some(ty) = info.result_design_type() else {
        return;
    };
    let once = info.kind == StreamKind::ClientWithResult;
    let summary = if once {
        "The result, sent once after the client ends its stream"
    } else {
        "A result the server streams"
    };
    let name = format!("{}Result", info.pascal);
    let mut results = Vec::new();
    match (ty.viewed(), info.pinned_view()) {
        (Some(u), None) if u.views().len() > 1 => {
            for view in u.views() {
                let schema = schemas.view_of(ty, &view);
                let m = ch.message(
                    &format!("result_{}", snake(&view.name)),
                    &format!("{name}{}", pascal(&view.name)),
                    &format!("{summary}, rendered with the view {:?}", view.name),
                    schema.clone(),
                );
                let mut m = Channel::with_example(m, example::of_view(ty, &view));
                if let (Some(d), Value::Object(o)) = (&view.description, &mut m.message) {
                    o.insert("description".into(), d.clone().into());
                }
                results.push((m, schema));
            }
        }
        (Some(u), Some(pinned)) => {
            let view = u.views().into_iter().find(|v| v.name == pinned);
            let (schema, example) = match view {
                Some(v) => (schemas.view_of(ty, &v), example::of_view(ty, &v)),
                None => (schemas.of(ty, &name), example::of(ty)),
            };
            let m = ch.message("result", &name, summary, schema.clone());
            results.push((Channel::with_example(m, example), schema));
        }
        _ => {
            let schema = schemas.of(ty, &name);
            let m = ch.message("result", &name, summary, schema.clone());
            results.push((Channel::with_example(m, example::of(ty)), schema));
        }
    }
    if info.is_resumable() {
        let data = if results.len() == 1 {
            results[0].1.clone()
        } else {
            json!({"oneOf": results.iter().map(|r| r.1.clone()).collect::<Vec<_>>()})
        };
        let position = ch.message(
            "resumePosition",
            "ResumePosition",
            "nagare.v1: where the stream starts, first on every connection and again when the room restarts",
            json!({
                "type": "object",
                "properties": {
                    "epoch": {"type": "string", "description": "Names the room's life: a new epoch means the stream restarted"},
                    "seq": {"type": "integer", "minimum": 0, "description": "The number of the last message before the next one sent"},
                },
                "required": ["epoch", "seq"],
            }),
        );
        let numbered = ch.message(
            "resumeMessage",
            "ResumeMessage",
            "nagare.v1: a result with its number (numbers start at 1 and have no gaps)",
            json!({
                "type": "object",
                "properties": {
                    "seq": {"type": "integer", "minimum": 1},
                    "data": data,
                },
                "required": ["seq", "data"],
            }),
        );
        let error = ch.message(
            "resumeError",
            "ResumeError",
            "nagare.v1: a designed error, whole, just before the close 4000 that reports it",
            json!({
                "type": "object",
                "properties": {
                    "error": {"type": "string", "description": "The designed error's name"},
                    "data": {"description": "The error's value"},
                },
                "required": ["error", "data"],
            }),
        );
        ch.send.extend(results.into_iter().map(|r| r.0));
        ch.send.extend([position, numbered, error]);
    } else {
        ch.send.extend(results.into_iter().map(|r| r.0));
    }
}

/// The WebSocket channel binding: the upgrade is a GET, with the query
/// parameters and headers of the payload.
fn ws_binding(params: &[Param]) -> Value {
    let object = |location: Location| {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for p in params.iter().filter(|p| p.location == location) {
            properties.insert(p.wire.clone(), with_description(p));
            if p.required {
                required.push(Value::from(p.wire.clone()));
            }
        }
        if properties.is_empty() {
            return None;
        }
        let mut schema = Map::new();
        schema.insert("type".into(), "object".into());
        schema.insert("properties".into(), properties.into());
        if !required.is_empty() {
            schema.insert("required".into(), required.into());
        }
        Some(Value::Object(schema))
    };
    let mut binding = Map::new();
    binding.insert("method".into(), "GET".into());
    if let Some(q) = object(Location::Query) {
        binding.insert("query".into(), q);
    }
    if let Some(h) = object(Location::Header) {
        binding.insert("headers".into(), h);
    }
    binding.insert("bindingVersion".into(), "0.1.0".into());
    binding.into()
}

fn with_description(p: &Param) -> Value {
    match (&p.description, p.schema.clone()) {
        (Some(d), Value::Object(mut m)) => {
            m.entry("description").or_insert_with(|| d.clone().into());
            Value::Object(m)
        }
        (_, schema) => schema,
    }
}

/// A path parameter: AsyncAPI 3 parameters are strings, with a description,
/// an enumeration and a default.
fn path_parameter(p: &Param) -> Value {
    let mut m = Map::new();
    if let Some(d) = &p.description {
        m.insert("description".into(), d.clone().into());
    }
    let strings = |v: &Value| -> Option<Vec<Value>> {
        v.as_array().map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => Value::from(s.clone()),
                    other => Value::from(other.to_string()),
                })
                .collect()
        })
    };
    if let Some(e) = p.schema.get("enum").and_then(strings) {
        m.insert("enum".into(), e.into());
    }
    if let Some(d) = p.schema.get("default") {
        let text = d
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| d.to_string());
        m.insert("default".into(), text.into());
    }
    m.into()
}

/// The pattern, in Goa's words.
fn pattern(kind: StreamKind) -> &'static str {
    match kind {
        StreamKind::Server => "server streaming (streaming_result)",
        StreamKind::Client => "client streaming (streaming_payload)",
        StreamKind::ClientWithResult => {
            "client streaming with a final result (streaming_payload and result)"
        }
        StreamKind::Bidirectional => "bidirectional (streaming_payload and streaming_result)",
        StreamKind::Unary => "unary",
    }
}

/// The subprotocols the endpoint selects, `nagare.v1` first when it resumes.
fn subprotocols(info: &MethodInfo<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    if info.is_resumable() {
        out.push(Value::from("nagare.v1"));
    }
    let designed = info
        .endpoint
        .ws
        .as_ref()
        .and_then(|w| w.subprotocols.clone())
        .unwrap_or_default();
    for p in designed {
        if !out.iter().any(|o| o == &p) {
            out.push(p.into());
        }
    }
    out
}

/// The operation's security (references to the schemes) and the scopes it
/// requires, which AsyncAPI's `http` schemes have no field for.
fn security(info: &MethodInfo<'_>) -> (Vec<Value>, Vec<Value>) {
    let refs = info
        .security
        .iter()
        .map(|(s, _)| json!({"$ref": format!("#/components/securitySchemes/{}", s.name)}))
        .collect();
    let scopes = info
        .security
        .iter()
        .flat_map(|(_, scopes)| scopes.iter().cloned().map(Value::from))
        .collect();
    (refs, scopes)
}

fn security_schemes(api: &Api) -> Map<String, Value> {
    api.security_schemes
        .iter()
        .map(|s| {
            let mut m = spec_parts::security_scheme(api, s, "httpApiKey");
            if spec_parts::is_bearer(s) && !s.scopes.is_empty() {
                m.insert("x-nagare-scopes".into(), spec_parts::scopes(s));
            }
            (s.name.clone(), m.into())
        })
        .collect()
}

fn servers(api: &Api) -> Value {
    let servers: Map<String, Value> = api
        .servers
        .iter()
        .map(|s| {
            let (secure, host, path) = spec_parts::split_url(&s.url);
            let mut m = Map::new();
            m.insert("host".into(), host.into());
            m.insert("protocol".into(), if secure { "wss" } else { "ws" }.into());
            if !path.is_empty() {
                m.insert("pathname".into(), path.into());
            }
            if let Some(d) = &s.description {
                m.insert("description".into(), d.clone().into());
            }
            (s.name.clone(), m.into())
        })
        .collect();
    servers.into()
}

/// The close codes a nagare server ends a connection with, and why.
fn close_codes() -> Value {
    json!({
        "1000": "the stream ended normally (reason `server closing connection`)",
        "1001": "the server is shutting down, or the peer stopped answering pings, or the connection was idle",
        "1002": "the peer broke the WebSocket protocol",
        "1007": "invalid UTF-8, or a message that is not valid JSON, not of the designed type, or fails the design's validations",
        "1008": "a policy was broken: a message-rate limit, or a slow consumer under that policy",
        "1009": "a frame or message over the endpoint's size limit",
        "1011": "the service failed (the details stay in the server's log)",
        "1013": "a slow consumer whose send queue filled",
        "4000": "a designed error; the reason is `<error name>: <message>`",
        "4010": "nagare.v1 only: the client cannot resume from its resume point (`too far behind: ...`)",
    })
}
