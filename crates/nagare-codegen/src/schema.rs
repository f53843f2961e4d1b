//! JSON Schemas of a design's types, as the AsyncAPI and OpenAPI documents
//! share them under `#/components/schemas`.
//!
//! Named types and result types become components named as their Rust types;
//! inline attribute blocks (`payload(|p| ..)`) are named after their method
//! (`EchoStreamingPayload`), as the generated Rust types are. A result type's
//! views that leave attributes out get a component each (`ChatSummaryTiny`):
//! a client reading a view sees only the view's attributes. Every validation
//! of the design is carried: `required`, `enum`, `format`, `pattern`, lengths,
//! bounds, defaults and examples.
//!
//! Both documents read the schemas as JSON Schema 2020-12 (OpenAPI 3.1) or
//! draft 07 (AsyncAPI's default schema format); the keywords used here mean
//! the same in both. A `$ref` with a description next to it is wrapped in
//! `allOf`, since draft 07 ignores the siblings of a `$ref`.

use std::collections::BTreeMap;

use nagare_design::{Attribute, Bound, Object, Primitive, Type, UserType, View};
use serde_json::{json, Map, Value};

use crate::names::pascal;

/// The components collected while the documents are written.
#[derive(Debug, Default)]
pub(crate) struct Schemas {
    defs: BTreeMap<String, Value>,
    /// Prefixes an inline type's name when it clashes with one of another
    /// service (`Chat` for `ChatEchoStreamingPayload`).
    service: String,
}

impl Schemas {
    /// Inline types from now on belong to `service`.
    pub(crate) fn enter_service(&mut self, service: &str) {
        self.service = pascal(service);
    }

    /// The components, for `#/components/schemas`.
    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.defs.into_iter().collect())
    }

    /// The schema of `ty`: a `$ref` for named and inline object types, inline
    /// for the others. `inline_name` names an inline object.
    pub(crate) fn of(&mut self, ty: &Type, inline_name: &str) -> Value {
        match ty {
            Type::Primitive(p) => primitive(*p),
            Type::Array(elem) => {
                json!({"type": "array", "items": self.of(elem, &format!("{inline_name}Item"))})
            }
            Type::Map(_, value) => json!({
                "type": "object",
                "additionalProperties": self.of(value, &format!("{inline_name}Value")),
            }),
            Type::Object(obj) => {
                let schema = self.object(obj, inline_name, None);
                let name = self.claim(inline_name, &schema);
                self.define(&name, schema);
                reference(&name)
            }
            Type::User(u) => self.user(u),
            Type::Collection(u) => json!({"type": "array", "items": self.user(u)}),
            Type::ErrorResult => self.goa_error(),
        }
    }

    /// The schema of a viewed result rendered with `view`: the view's
    /// component when it leaves attributes out, the type's otherwise.
    pub(crate) fn view_of(&mut self, ty: &Type, view: &View) -> Value {
        match ty {
            Type::User(u) => self.user_view(u, view),
            Type::Collection(u) => json!({"type": "array", "items": self.user_view(u, view)}),
            other => self.of(other, "Result"),
        }
    }

    /// Goa's error object, the body of every error the server itself answers
    /// (bad requests, refused credentials without a designed error...).
    pub(crate) fn goa_error(&mut self) -> Value {
        if !self.defs.contains_key("GoaError") {
            let string = |d: &str| json!({"type": "string", "description": d});
            let boolean = |d: &str| json!({"type": "boolean", "description": d});
            self.define(
                "GoaError",
                json!({
                    "type": "object",
                    "description": "Goa's error object: what went wrong and whether trying again can help.",
                    "properties": {
                        "name": string("Name of the error (bad_request, missing_field, unauthorized...)"),
                        "id": string("Identifies this occurrence of the error"),
                        "message": string("What went wrong, for a person"),
                        "temporary": boolean("True when the same request may succeed later"),
                        "timeout": boolean("True when the error is a timeout"),
                        "fault": boolean("True when the server is at fault"),
                    },
                    "required": ["name", "id", "message", "temporary", "timeout", "fault"],
                }),
            );
        }
        reference("GoaError")
    }

    fn user(&mut self, u: &UserType) -> Value {
        if !self.defs.contains_key(&u.name) {
            // Reserve the name first: a type may refer to itself.
            self.defs.insert(u.name.clone(), Value::Null);
            let mut schema = self.object(&u.object, &u.name, None);
            if let (Some(d), Value::Object(m)) = (&u.description, &mut schema) {
                m.insert("description".into(), d.clone().into());
            }
            self.define(&u.name, schema);
        }
        reference(&u.name)
    }

    fn user_view(&mut self, u: &UserType, view: &View) -> Value {
        let all = u
            .object
            .attributes
            .iter()
            .all(|a| view.attributes.contains(&a.name));
        if all {
            return self.user(u);
        }
        let name = format!("{}{}", u.name, pascal(&view.name));
        if !self.defs.contains_key(&name) {
            self.defs.insert(name.clone(), Value::Null);
            let mut schema = self.object(&u.object, &u.name, Some(&view.attributes));
            if let Value::Object(m) = &mut schema {
                let what = view
                    .description
                    .clone()
                    .or_else(|| u.description.clone())
                    .unwrap_or_default();
                let text = format!("{} (view {:?} of {})", what, view.name, u.name);
                m.insert("description".into(), text.trim_start().into());
            }
            self.define(&name, schema);
        }
        reference(&name)
    }

    /// An object's schema; `only` keeps the attributes a view renders.
    fn object(&mut self, obj: &Object, name: &str, only: Option<&[String]>) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for attr in &obj.attributes {
            if only.is_some_and(|keep| !keep.contains(&attr.name)) {
                continue;
            }
            let inline = format!("{name}{}", pascal(&attr.name));
            properties.insert(attr.name.clone(), self.attribute(attr, &inline));
            if obj.is_required(&attr.name) {
                required.push(Value::from(attr.name.clone()));
            }
        }
        let mut schema = Map::new();
        schema.insert("type".into(), "object".into());
        if let Some(d) = &obj.description {
            schema.insert("description".into(), d.clone().into());
        }
        schema.insert("properties".into(), properties.into());
        if !required.is_empty() {
            schema.insert("required".into(), required.into());
        }
        schema.into()
    }

    /// An attribute's schema: its type's, with its documentation and
    /// validations.
    pub(crate) fn attribute(&mut self, attr: &Attribute, inline_name: &str) -> Value {
        let base = self.of(&attr.ty, inline_name);
        let mut extra = Map::new();
        if let Some(d) = &attr.description {
            extra.insert("description".into(), d.clone().into());
        }
        let v = &attr.validation;
        if !v.enum_values.is_empty() {
            extra.insert("enum".into(), v.enum_values.clone().into());
        }
        if let Some(f) = v.format {
            extra.insert("format".into(), f.as_str().into());
        }
        if let Some(p) = &v.pattern {
            extra.insert("pattern".into(), p.clone().into());
        }
        let (min_len, max_len) = match &attr.ty {
            Type::Array(_) | Type::Collection(_) => ("minItems", "maxItems"),
            Type::Map(..) => ("minProperties", "maxProperties"),
            _ => ("minLength", "maxLength"),
        };
        if let Some(n) = v.min_length {
            extra.insert(min_len.into(), n.into());
        }
        if let Some(n) = v.max_length {
            extra.insert(max_len.into(), n.into());
        }
        if let Some(b) = v.minimum {
            extra.insert("minimum".into(), bound(b));
        }
        if let Some(b) = v.maximum {
            extra.insert("maximum".into(), bound(b));
        }
        if let Some(d) = &attr.default {
            extra.insert("default".into(), d.clone());
        }
        if let Some(e) = &attr.example {
            extra.insert("examples".into(), json!([e]));
        }
        merge(base, extra)
    }

    /// A free name for an inline type: its own, or prefixed with the service
    /// when another service's type took it.
    fn claim(&self, name: &str, schema: &Value) -> String {
        match self.defs.get(name) {
            Some(existing) if existing != schema => format!("{}{name}", self.service),
            _ => name.to_owned(),
        }
    }

    fn define(&mut self, name: &str, schema: Value) {
        self.defs.insert(name.to_owned(), schema);
    }
}

/// `{"$ref": "#/components/schemas/<name>"}`.
pub(crate) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Adds keywords to a schema; a `$ref` is wrapped in `allOf` first.
fn merge(base: Value, extra: Map<String, Value>) -> Value {
    if extra.is_empty() {
        return base;
    }
    let mut out = match base {
        Value::Object(m) if !m.contains_key("$ref") => m,
        other => {
            let mut m = Map::new();
            m.insert("allOf".into(), json!([other]));
            m
        }
    };
    out.extend(extra);
    Value::Object(out)
}

fn bound(b: Bound) -> Value {
    match b {
        Bound::Int(i) => i64::try_from(i)
            .map(Value::from)
            .or_else(|_| u64::try_from(i).map(Value::from))
            .unwrap_or_else(|_| Value::from(i as f64)),
        Bound::Float(f) => Value::from(f),
    }
}

/// A primitive's schema. Integer widths are `format`s, as OpenAPI names them;
/// unsigned types have `minimum: 0`.
pub(crate) fn primitive(p: Primitive) -> Value {
    match p {
        Primitive::Boolean => json!({"type": "boolean"}),
        Primitive::Int | Primitive::Int64 => json!({"type": "integer", "format": "int64"}),
        Primitive::Int32 => json!({"type": "integer", "format": "int32"}),
        Primitive::UInt | Primitive::UInt64 => {
            json!({"type": "integer", "format": "uint64", "minimum": 0})
        }
        Primitive::UInt32 => json!({"type": "integer", "format": "uint32", "minimum": 0}),
        Primitive::Float32 => json!({"type": "number", "format": "float"}),
        Primitive::Float64 => json!({"type": "number", "format": "double"}),
        Primitive::String => json!({"type": "string"}),
        Primitive::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Primitive::Any => json!({}),
    }
}

#[cfg(test)]
mod tests {
    use nagare_design::*;

    use super::*;

    #[test]
    fn validations_travel_with_the_attribute() {
        let ty = type_("Reading", |t| {
            t.attribute("value", FLOAT64, "The value")
                .minimum(-10)
                .maximum(2.5);
            t.attribute("unit", STRING, "")
                .enum_(["C", "F"])
                .default("C");
            t.attribute("tags", array_of(STRING), "").min_length(1);
            t.required(["value"]);
        });
        let mut s = Schemas::default();
        assert_eq!(s.of(&ty, "X"), reference("Reading"));
        let defs = s.into_value();
        let r = &defs["Reading"];
        assert_eq!(r["required"], json!(["value"]));
        assert_eq!(r["properties"]["value"]["minimum"], json!(-10));
        assert_eq!(r["properties"]["value"]["maximum"], json!(2.5));
        assert_eq!(r["properties"]["unit"]["enum"], json!(["C", "F"]));
        assert_eq!(r["properties"]["unit"]["default"], json!("C"));
        assert_eq!(r["properties"]["tags"]["minItems"], json!(1));
    }

    #[test]
    fn a_view_that_leaves_attributes_out_is_a_component_of_its_own() {
        let ty = result_type("application/vnd.summary", |r| {
            r.type_name("Summary");
            r.attribute("message", STRING, "");
            r.attribute("length", INT, "");
            r.required(["message", "length"]);
            r.view("tiny", |v| {
                v.attribute("message");
            });
        });
        let Type::User(u) = &ty else { unreachable!() };
        let views = u.views();
        let mut s = Schemas::default();
        assert_eq!(s.view_of(&ty, &views[0]), reference("Summary"));
        assert_eq!(s.view_of(&ty, &views[1]), reference("SummaryTiny"));
        let defs = s.into_value();
        assert_eq!(defs["SummaryTiny"]["required"], json!(["message"]));
        assert!(defs["SummaryTiny"]["properties"].get("length").is_none());
    }

    #[test]
    fn a_described_reference_is_wrapped_in_all_of() {
        let inner = type_("Inner", |t| {
            t.attribute("a", STRING, "");
        });
        let outer = type_("Outer", |t| {
            t.attribute("inner", inner.clone(), "The inner value");
        });
        let mut s = Schemas::default();
        s.of(&outer, "X");
        let defs = s.into_value();
        assert_eq!(
            defs["Outer"]["properties"]["inner"],
            json!({"allOf": [reference("Inner")], "description": "The inner value"})
        );
    }
}
