//! What the AsyncAPI and OpenAPI documents say alike: where each payload
//! attribute travels in the request, the designed errors of a method, the
//! security schemes and where the API is served. Worked out once from the
//! method model, so both documents describe the same request.

use nagare_design::{Api, Credential, Location, SchemeKind, SecurityScheme, Service};
use serde_json::{json, Map, Value};

use crate::model::MethodInfo;
use crate::schema::Schemas;

/// One request parameter: a path segment, a query parameter, a header or a
/// cookie, with its schema.
pub(crate) struct Param {
    pub(crate) location: Location,
    /// The name on the wire.
    pub(crate) wire: String,
    pub(crate) required: bool,
    pub(crate) description: Option<String>,
    pub(crate) schema: Value,
}

/// The parameters of a method's request, in declaration order. Credentials
/// in `Authorization` are one header parameter whose description says what
/// it holds (OpenAPI then leaves it to the security requirement).
pub(crate) fn params(info: &MethodInfo<'_>, schemas: &mut Schemas) -> Vec<Param> {
    let mut out: Vec<Param> = Vec::new();
    for e in info.elements() {
        let location = match e.location {
            Location::Body => continue,
            Location::BasicAuth => Location::Header,
            other => other,
        };
        let inline = format!(
            "{}Payload{}",
            info.pascal,
            crate::names::pascal(&e.attr.name)
        );
        let mut schema = schemas.attribute(e.attr, &inline);
        let mut description = e.attr.description.clone();
        if e.attr.name == "view" && info.view_attribute().is_some() {
            // The server refuses any other view (400 `invalid_enum_value`).
            let views = info
                .result_design_type()
                .and_then(nagare_design::Type::viewed)
                .map(|u| u.views());
            if let (Some(views), Value::Object(m)) = (views, &mut schema) {
                let names: Vec<Value> = views.iter().map(|v| Value::from(v.name.clone())).collect();
                m.entry("enum").or_insert_with(|| names.into());
            }
        }
        if e.wire.eq_ignore_ascii_case("authorization") && location == Location::Header {
            // One header for the user name and the password alike.
            let seen = out.iter().any(|p| {
                p.location == Location::Header && p.wire.eq_ignore_ascii_case("authorization")
            });
            if seen {
                continue;
            }
            // The value is not the attribute alone: say what the header holds.
            description = Some(match &e.attr.credential {
                Some(Credential::Username | Credential::Password) => {
                    "HTTP basic authentication: `Basic ` and the base64 of `user:password`".to_owned()
                }
                Some(Credential::Token) => format!(
                    "`Bearer ` and the token ({}); a browser, which cannot set this header on a WebSocket upgrade, offers the subprotocol `nagare.bearer.<token>` instead",
                    e.attr.description.as_deref().unwrap_or("a JWT")
                ),
                _ => e.attr.description.clone().unwrap_or_default(),
            });
            schema = json!({"type": "string"});
        }
        out.push(Param {
            location,
            wire: e.wire.clone(),
            required: e.required,
            description,
            schema,
        });
    }
    out
}

/// A method's designed errors: name, description, the schema of the value,
/// and the HTTP status it is answered with before the upgrade, if mapped.
pub(crate) struct DesignedError {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) schema: Value,
    pub(crate) status: Option<u16>,
}

pub(crate) fn errors(
    service: &Service,
    info: &MethodInfo<'_>,
    schemas: &mut Schemas,
) -> Vec<DesignedError> {
    service
        .errors_of(info.method)
        .map(|e| DesignedError {
            name: e.name.clone(),
            description: e.description.clone(),
            schema: schemas.of(
                &e.ty,
                &format!("{}{}Error", info.pascal, crate::names::pascal(&e.name)),
            ),
            status: info
                .statuses
                .iter()
                .find(|(n, _)| n == &e.name)
                .map(|(_, s)| *s),
        })
        .collect()
}

/// Where the API-key scheme's key travels: the first method using it says.
pub(crate) fn api_key_location(api: &Api, scheme: &SecurityScheme) -> (Location, String) {
    for service in &api.services {
        for method in &service.methods {
            let Ok(info) = MethodInfo::new(api, service, method) else {
                continue;
            };
            let uses = info.security.iter().any(|(s, _)| s.name == scheme.name);
            if !uses {
                continue;
            }
            let found = info.elements().into_iter().find(|e| {
                matches!(&e.attr.credential, Some(Credential::ApiKey { scheme: s }) if s == &scheme.name)
            });
            if let Some(e) = found {
                return (e.location, e.wire);
            }
        }
    }
    (Location::Header, "Authorization".to_owned())
}

/// A security scheme object, as both documents write it: `http` basic,
/// `http` bearer JWT, or an API key (`api_key_type` is what the document
/// calls one) where the first method using it carries it.
pub(crate) fn security_scheme(
    api: &Api,
    s: &SecurityScheme,
    api_key_type: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    match s.kind {
        SchemeKind::Basic => {
            m.insert("type".into(), "http".into());
            m.insert("scheme".into(), "basic".into());
        }
        SchemeKind::Jwt => {
            m.insert("type".into(), "http".into());
            m.insert("scheme".into(), "bearer".into());
            m.insert("bearerFormat".into(), "JWT".into());
        }
        SchemeKind::ApiKey => {
            let (location, wire) = api_key_location(api, s);
            m.insert("type".into(), api_key_type.into());
            m.insert("name".into(), wire.into());
            let place = match location {
                Location::Query => "query",
                Location::Cookie => "cookie",
                _ => "header",
            };
            m.insert("in".into(), place.into());
        }
    }
    if let Some(d) = scheme_description(s) {
        m.insert("description".into(), d.into());
    }
    m
}

/// A scheme's description with its scopes listed, for documents whose
/// scheme objects have no place for a bearer token's scopes.
pub(crate) fn scheme_description(scheme: &SecurityScheme) -> Option<String> {
    let scopes = scheme
        .scopes
        .iter()
        .map(|(n, d)| format!("`{n}` ({d})"))
        .collect::<Vec<_>>()
        .join(", ");
    match (&scheme.description, scopes.is_empty()) {
        (Some(d), true) => Some(d.clone()),
        (Some(d), false) => Some(format!("{d} Scopes: {scopes}.")),
        (None, false) => Some(format!("Scopes: {scopes}.")),
        (None, true) => None,
    }
}

/// The scopes a JWT scheme defines, as `{name: description}`.
pub(crate) fn scopes(scheme: &SecurityScheme) -> Value {
    let map: Map<String, Value> = scheme
        .scopes
        .iter()
        .map(|(n, d)| (n.clone(), Value::from(d.clone())))
        .collect();
    Value::Object(map)
}

/// True for the schemes whose credential is a bearer token.
pub(crate) fn is_bearer(scheme: &SecurityScheme) -> bool {
    scheme.kind == SchemeKind::Jwt
}

/// The `info` object: title (the API's name when it has none), version
/// (`1.0` when it has none) and description.
pub(crate) fn info(api: &Api) -> Value {
    let mut info = Map::new();
    let title = api.title.clone().unwrap_or_else(|| api.name.clone());
    info.insert("title".into(), title.into());
    let version = api.version.clone().unwrap_or_else(|| "1.0".into());
    info.insert("version".into(), version.into());
    if let Some(d) = &api.description {
        info.insert("description".into(), d.clone().into());
    }
    info.into()
}

/// A route's path as both documents write it: `{*rest}` is `{rest}`.
pub(crate) fn path(route: &str) -> String {
    route.replace("{*", "{")
}

/// A server's URL split for AsyncAPI: secure or not, `host[:port]`, and the
/// path prefix (empty for none).
pub(crate) fn split_url(url: &str) -> (bool, &str, &str) {
    let (secure, rest) = match url.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, url.strip_prefix("http://").unwrap_or(url)),
    };
    match rest.find('/') {
        Some(i) => (secure, &rest[..i], rest[i..].trim_end_matches('/')),
        None => (secure, rest, ""),
    }
}

/// Serialises a document as people read it: two-space indents, a final
/// newline.
pub(crate) fn to_text(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}
