//! Example values for the documents' messages, built from the design: an
//! attribute's own example, else its default, else its first allowed value,
//! else a value of its type that passes its validations (a date-time for a
//! date-time, a string as long as `min_length` asks...). Deterministic, so the
//! documents are stable. An attribute whose `pattern` leaves no way to make a
//! value up gets none: optional ones are left out, and an object that
//! requires one has no example at all, rather than a wrong one.

use nagare_design::{Attribute, Bound, Format, Object, Primitive, Type, UserType, View};
use serde_json::{json, Map, Value};

/// An example of `ty`, if one can be made that passes its validations.
pub(crate) fn of(ty: &Type) -> Option<Value> {
    value(ty, None)
}

/// An example of a result rendered with `view`.
pub(crate) fn of_view(ty: &Type, view: &View) -> Option<Value> {
    match ty {
        Type::User(u) => object(&u.object, Some(&view.attributes)),
        Type::Collection(u) => object(&u.object, Some(&view.attributes)).map(|v| json!([v])),
        other => of(other),
    }
}

fn value(ty: &Type, attr: Option<&Attribute>) -> Option<Value> {
    if let Some(a) = attr {
        if let Some(e) = a.example.as_ref().or(a.default.as_ref()) {
            return Some(e.clone());
        }
        if let Some(first) = a.validation.enum_values.first() {
            return Some(first.clone());
        }
    }
    match ty {
        Type::Primitive(p) => primitive(*p, attr),
        Type::Array(elem) => repeat(value(elem, None)?, attr),
        Type::Map(_, v) => Some(json!({ "key": value(v, None)? })),
        Type::Object(obj) => object(obj, None),
        Type::User(u) => user(u),
        Type::Collection(u) => Some(json!([user(u)?])),
        Type::ErrorResult => Some(json!({
            "name": "bad_request", "id": "3Xkq9m1a", "message": "what went wrong",
            "temporary": false, "timeout": false, "fault": false,
        })),
    }
}

fn user(u: &UserType) -> Option<Value> {
    object(&u.object, None)
}

/// The required attributes, and the optional ones with an example or a
/// default of their own.
fn object(obj: &Object, only: Option<&[String]>) -> Option<Value> {
    let mut out = Map::new();
    for a in &obj.attributes {
        if only.is_some_and(|keep| !keep.contains(&a.name)) {
            continue;
        }
        let required = obj.is_required(&a.name);
        if !required && a.example.is_none() && a.default.is_none() {
            continue;
        }
        match value(&a.ty, Some(a)) {
            Some(v) => {
                out.insert(a.name.clone(), v);
            }
            None if required => return None,
            None => {}
        }
    }
    Some(Value::Object(out))
}

/// As many elements as `min_length` asks (one at least).
fn repeat(elem: Value, attr: Option<&Attribute>) -> Option<Value> {
    let n = attr
        .and_then(|a| a.validation.min_length)
        .unwrap_or(1)
        .max(1);
    Some(Value::Array(vec![elem; n]))
}

fn primitive(p: Primitive, attr: Option<&Attribute>) -> Option<Value> {
    let v = attr.map(|a| &a.validation);
    let (min, max) = (
        v.and_then(|v| v.minimum).map(Bound::as_f64),
        v.and_then(|v| v.maximum).map(Bound::as_f64),
    );
    let number = |x: f64| min.map_or(x, |m| m.max(x)).min(max.unwrap_or(f64::MAX));
    Some(match p {
        Primitive::Boolean => json!(false),
        p if p.is_integer() => json!(number(1.0).ceil() as i64),
        Primitive::Float32 | Primitive::Float64 => json!(number(1.5)),
        Primitive::Bytes => json!("bmFnYXJl"),
        Primitive::Any => json!("any JSON value"),
        _ => {
            if let Some(f) = v.and_then(|v| v.format) {
                return Some(json!(formatted(f)));
            }
            if v.is_some_and(|v| v.pattern.is_some()) {
                return None;
            }
            let (lo, hi) = (
                v.and_then(|v| v.min_length).unwrap_or(0),
                v.and_then(|v| v.max_length).unwrap_or(usize::MAX),
            );
            let mut s = String::from("text");
            while s.chars().count() < lo {
                s.push('x');
            }
            json!(s.chars().take(hi).collect::<String>())
        }
    })
}

fn formatted(f: Format) -> &'static str {
    match f {
        Format::DateTime => "2026-11-30T12:00:00Z",
        Format::Date => "2026-11-30",
        Format::Uuid => "67e55044-10b1-426f-9247-bb680e5fe0c8",
        Format::Email => "someone@example.com",
        Format::Uri => "https://example.com/",
        Format::Ipv4 => "192.0.2.1",
        Format::Ipv6 => "2001:db8::1",
        Format::Hostname => "example.com",
    }
}

#[cfg(test)]
mod tests {
    use nagare_design::*;

    use super::*;

    #[test]
    fn an_example_passes_the_validations() {
        let ty = type_("T", |t| {
            t.attribute("at", STRING, "").format(Format::DateTime);
            t.attribute("n", INT, "").minimum(5).maximum(9);
            t.attribute("name", STRING, "").min_length(6).max_length(8);
            t.attribute("kind", STRING, "").enum_(["a", "b"]);
            t.attribute("tags", array_of(STRING), "").min_length(2);
            t.attribute("note", STRING, "");
            t.required(["at", "n", "name", "kind", "tags"]);
        });
        assert_eq!(
            of(&ty),
            Some(json!({
                "at": "2026-11-30T12:00:00Z", "n": 5, "name": "textxx",
                "kind": "a", "tags": ["text", "text"],
            }))
        );
    }

    #[test]
    fn a_required_pattern_without_an_example_gives_no_example() {
        let ty = type_("T", |t| {
            t.attribute("code", STRING, "").pattern("^[A-Z]{3}$");
            t.required(["code"]);
        });
        assert_eq!(of(&ty), None);
    }
}
