//! The OpenAPI 3.1 document of an API: its unary methods as Goa's HTTP
//! generator describes them, and its WebSocket endpoints as the GET requests
//! that upgrade (a 101, or the designed errors and the protocol's own 4xx
//! before the upgrade). What flows after the upgrade is the AsyncAPI
//! document's; each upgrade names its channel there in
//! `x-nagare-asyncapi-channel`.

use nagare_design::{Api, Location, StreamKind, Verb};
use serde_json::{json, Map, Value};

use crate::model::MethodInfo;
use crate::names::snake;
use crate::schema::Schemas;
use crate::spec_parts::{self, DesignedError, Param};
use crate::GenerateError;

/// The document, as JSON.
pub(crate) fn document(api: &Api) -> Result<Value, GenerateError> {
    let mut schemas = Schemas::default();
    let mut paths: Map<String, Value> = Map::new();
    let mut tags = Vec::new();
    for service in &api.services {
        schemas.enter_service(&service.name);
        let mut tag = Map::new();
        tag.insert("name".into(), service.name.clone().into());
        if let Some(d) = &service.description {
            tag.insert("description".into(), d.clone().into());
        }
        tags.push(Value::Object(tag));
        for method in &service.methods {
            let info = MethodInfo::new(api, service, method)?;
            let params = spec_parts::params(&info, &mut schemas);
            let errors = spec_parts::errors(service, &info, &mut schemas);
            let mut op = Map::new();
            op.insert("tags".into(), json!([service.name]));
            op.insert(
                "operationId".into(),
                format!("{}#{}", service.name, method.name).into(),
            );
            op.insert(
                "summary".into(),
                format!("{} {}", method.name, service.name).into(),
            );
            if let Some(d) = &method.description {
                op.insert("description".into(), d.clone().into());
            }
            let mut parameters: Vec<Value> = params.iter().filter_map(parameter).collect();
            let mut responses = Map::new();
            if info.kind.is_streaming() {
                parameters.extend(upgrade_headers());
                responses.insert("101".into(), switching(&info, service));
                op.insert(
                    "x-nagare-asyncapi-channel".into(),
                    format!("{}_{}", snake(&service.name), snake(&method.name)).into(),
                );
            } else {
                if let Some(body) = request_body(&info, &mut schemas) {
                    op.insert("requestBody".into(), body);
                }
                responses.insert(
                    info.success_status().to_string(),
                    success(&info, &mut schemas),
                );
            }
            for (status, response) in error_responses(&info, &errors, &mut schemas) {
                responses.entry(status).or_insert(response);
            }
            if !parameters.is_empty() {
                op.insert("parameters".into(), parameters.into());
            }
            op.insert("responses".into(), responses.into());
            if !info.security.is_empty() {
                let requirement: Map<String, Value> = info
                    .security
                    .iter()
                    .map(|(s, scopes)| (s.name.clone(), json!(scopes)))
                    .collect();
                op.insert("security".into(), json!([requirement]));
            }
            let path = spec_parts::path(&info.route.path);
            let verb = verb(info.route.verb);
            let item = paths
                .entry(path)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(item) = item {
                item.insert(verb.into(), op.into());
            }
        }
    }
    let mut doc = Map::new();
    doc.insert("openapi".into(), "3.1.0".into());
    doc.insert("info".into(), spec_parts::info(api));
    if !api.servers.is_empty() {
        let servers: Vec<Value> = api
            .servers
            .iter()
            .map(|s| {
                let mut m = Map::new();
                m.insert("url".into(), s.url.clone().into());
                if let Some(d) = &s.description {
                    m.insert("description".into(), d.clone().into());
                }
                m.into()
            })
            .collect();
        doc.insert("servers".into(), servers.into());
    }
    doc.insert("tags".into(), tags.into());
    doc.insert("paths".into(), paths.into());
    let mut components = Map::new();
    components.insert("schemas".into(), schemas.into_value());
    let schemes = security_schemes(api);
    if !schemes.is_empty() {
        components.insert("securitySchemes".into(), schemes.into());
    }
    doc.insert("components".into(), components.into());
    Ok(doc.into())
}

fn verb(v: Verb) -> &'static str {
    match v {
        Verb::Get => "get",
        Verb::Post => "post",
        Verb::Put => "put",
        Verb::Patch => "patch",
        Verb::Delete => "delete",
    }
}

/// A parameter object; credentials in `Authorization` are left to the
/// security requirement (OpenAPI ignores an `Authorization` parameter).
fn parameter(p: &Param) -> Option<Value> {
    let location = match p.location {
        Location::Path => "path",
        Location::Query => "query",
        Location::Header if p.wire.eq_ignore_ascii_case("authorization") => return None,
        Location::Header => "header",
        Location::Cookie => "cookie",
        Location::BasicAuth | Location::Body => return None,
    };
    let mut m = Map::new();
    m.insert("name".into(), p.wire.clone().into());
    m.insert("in".into(), location.into());
    if let Some(d) = &p.description {
        m.insert("description".into(), d.clone().into());
    }
    m.insert(
        "required".into(),
        (p.required || p.location == Location::Path).into(),
    );
    // The description is the parameter's; the schema need not repeat it.
    let mut schema = p.schema.clone();
    if let Value::Object(s) = &mut schema {
        s.remove("description");
    }
    m.insert("schema".into(), schema);
    Some(m.into())
}

/// The headers of a WebSocket upgrade (RFC 6455), which a client sends with
/// the payload's parameters.
fn upgrade_headers() -> Vec<Value> {
    vec![
        json!({"name": "Connection", "in": "header", "required": true,
               "description": "Must include `Upgrade`", "schema": {"type": "string"}}),
        json!({"name": "Upgrade", "in": "header", "required": true,
               "schema": {"type": "string", "enum": ["websocket"]}}),
        json!({"name": "Sec-WebSocket-Version", "in": "header", "required": true,
               "schema": {"type": "string", "enum": ["13"]}}),
        json!({"name": "Sec-WebSocket-Key", "in": "header", "required": true,
               "description": "16 random bytes in base64",
               "schema": {"type": "string", "minLength": 24, "maxLength": 24}}),
        json!({"name": "Sec-WebSocket-Protocol", "in": "header", "required": false,
               "description": "Subprotocols the client offers: `nagare.v1` (and `nagare.resume.<epoch>.<seq>`) for resumable streams, `nagare.bearer.<token>` for a browser's token",
               "schema": {"type": "string"}}),
    ]
}

/// The 101 of an upgrade.
fn switching(info: &MethodInfo<'_>, service: &nagare_design::Service) -> Value {
    let mut headers = Map::new();
    headers.insert(
        "Upgrade".into(),
        json!({"schema": {"type": "string", "enum": ["websocket"]}}),
    );
    headers.insert(
        "Sec-WebSocket-Accept".into(),
        json!({"description": "The base64 SHA-1 of the key and RFC 6455's GUID", "schema": {"type": "string"}}),
    );
    if info.viewed(crate::names::Scope::Service).is_some() {
        headers.insert(
            "Goa-View".into(),
            json!({"description": "The view the results are rendered with", "schema": {"type": "string"}}),
        );
    }
    let what = match info.kind {
        StreamKind::Server => "the server streams results",
        StreamKind::Client => "the client streams messages, then JSON null",
        StreamKind::ClientWithResult => {
            "the client streams messages, then JSON null; the server answers with one result"
        }
        _ => "both sides stream",
    };
    json!({
        "description": format!(
            "Switching Protocols: the connection is a WebSocket on which {what}; the messages are those of the AsyncAPI channel `{}_{}`",
            snake(&service.name),
            snake(&info.method.name)
        ),
        "headers": headers,
    })
}

/// The JSON body of a unary request: the attributes left to it.
fn request_body(info: &MethodInfo<'_>, schemas: &mut Schemas) -> Option<Value> {
    let payload = info.method.payload.as_ref()?;
    let schema = if payload.object().is_some() {
        let body: Vec<_> = info
            .elements()
            .into_iter()
            .filter(|e| e.location == Location::Body)
            .collect();
        if body.is_empty() {
            return None;
        }
        let mut properties = Map::new();
        let mut required = Vec::new();
        for e in &body {
            let inline = format!(
                "{}Payload{}",
                info.pascal,
                crate::names::pascal(&e.attr.name)
            );
            properties.insert(e.wire.clone(), schemas.attribute(e.attr, &inline));
            if e.required {
                required.push(Value::from(e.wire.clone()));
            }
        }
        let mut m = Map::new();
        m.insert("type".into(), "object".into());
        m.insert("properties".into(), properties.into());
        if !required.is_empty() {
            m.insert("required".into(), required.into());
        }
        Value::Object(m)
    } else {
        schemas.of(payload, &format!("{}Payload", info.pascal))
    };
    Some(json!({
        "required": true,
        "content": {"application/json": {"schema": schema}},
    }))
}

/// The success response of a unary method.
fn success(info: &MethodInfo<'_>, schemas: &mut Schemas) -> Value {
    let Some(ty) = info.method.result.as_ref() else {
        return json!({"description": "No content"});
    };
    let name = format!("{}Result", info.pascal);
    let (schema, viewed) = match (ty.viewed(), info.pinned_view()) {
        (Some(u), None) if u.views().len() > 1 => {
            let views: Vec<Value> = u.views().iter().map(|v| schemas.view_of(ty, v)).collect();
            (json!({"oneOf": views}), true)
        }
        (Some(u), Some(pinned)) => match u.views().into_iter().find(|v| v.name == pinned) {
            Some(v) => (schemas.view_of(ty, &v), false),
            None => (schemas.of(ty, &name), false),
        },
        _ => (schemas.of(ty, &name), false),
    };
    let mut m = Map::new();
    m.insert("description".into(), "OK".into());
    if viewed {
        m.insert(
            "headers".into(),
            json!({"Goa-View": {"description": "The view the result is rendered with", "schema": {"type": "string"}}}),
        );
    }
    let mut media = Map::new();
    media.insert("schema".into(), schema);
    if let Some(e) = crate::example::of(ty).filter(|_| !viewed) {
        media.insert("example".into(), e);
    }
    m.insert("content".into(), json!({ "application/json": media }));
    m.into()
}

/// The designed errors mapped to statuses, and the 400 every request with a
/// payload may get: errors sharing a status are one response with `oneOf`.
fn error_responses(
    info: &MethodInfo<'_>,
    errors: &[DesignedError],
    schemas: &mut Schemas,
) -> Vec<(String, Value)> {
    let mut by_status: Vec<(u16, Vec<&DesignedError>)> = Vec::new();
    for e in errors {
        let Some(status) = e.status else { continue };
        match by_status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, list)) => list.push(e),
            None => by_status.push((status, vec![e])),
        }
    }
    by_status.sort_by_key(|(s, _)| *s);
    let mut out = Vec::new();
    let has_params = info.method.payload.is_some();
    if has_params && !by_status.iter().any(|(s, _)| *s == 400) {
        out.push((
            "400".to_owned(),
            json!({
                "description": "The request could not be decoded or failed the design's validations",
                "content": {"application/json": {"schema": schemas.goa_error()}},
            }),
        ));
    }
    for (status, list) in by_status {
        let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
        let description = list
            .iter()
            .map(|e| match &e.description {
                Some(d) => format!("{}: {d}", e.name),
                None => e.name.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let schema = if list.len() == 1 {
            list[0].schema.clone()
        } else {
            json!({"oneOf": list.iter().map(|e| e.schema.clone()).collect::<Vec<_>>()})
        };
        out.push((
            status.to_string(),
            json!({
                "description": description,
                "headers": {"Goa-Error": {
                    "description": "The designed error's name",
                    "schema": {"type": "string", "enum": names},
                }},
                "content": {"application/json": {"schema": schema}},
            }),
        ));
    }
    out
}

fn security_schemes(api: &Api) -> Map<String, Value> {
    api.security_schemes
        .iter()
        .map(|s| {
            let m = spec_parts::security_scheme(api, s, "apiKey");
            (s.name.clone(), m.into())
        })
        .collect()
}
