//! Data types of a design: primitives, arrays, maps, user types and result types.
//!
//! Types are plain values. A user type is defined once with [`type_`] or
//! [`result_type`] and then passed by value (it is reference-counted) wherever the
//! design needs it, exactly like a Goa `var X = Type(...)`.
//!
//! ```
//! use nagare_design::*;
//!
//! let event = type_("Event", |t| {
//!     t.description("Something that happened in a chat room.");
//!     t.attribute("message", STRING, "Text of the message").min_length(1);
//!     t.attribute("action", STRING, "What happened").enum_(["added"]);
//!     t.required(["message", "action"]);
//! });
//! assert_eq!(event.name(), Some("Event"));
//! ```

use std::sync::Arc;

use serde_json::Value;

use crate::source::Source;

/// The primitive types of the design language, named as in Goa.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// `boolean`: Rust's `bool`.
    Boolean,
    /// `int`: 64 bits, as Go's `int` on 64-bit platforms.
    Int,
    /// `int32`.
    Int32,
    /// `int64`.
    Int64,
    /// `uint`: 64 bits.
    UInt,
    /// `uint32`.
    UInt32,
    /// `uint64`.
    UInt64,
    /// `float32`.
    Float32,
    /// `float64`.
    Float64,
    /// `string`.
    String,
    /// `bytes`: standard base64 in JSON.
    Bytes,
    /// `any`: an arbitrary JSON value.
    Any,
}

impl Primitive {
    /// The name Goa uses for the type, also used in error messages
    /// (`must be a integer`, as Goa words it).
    pub fn goa_name(self) -> &'static str {
        match self {
            Primitive::Boolean => "boolean",
            Primitive::Int
            | Primitive::Int32
            | Primitive::Int64
            | Primitive::UInt
            | Primitive::UInt32
            | Primitive::UInt64 => "integer",
            Primitive::Float32 | Primitive::Float64 => "float",
            Primitive::String => "string",
            Primitive::Bytes => "bytes",
            Primitive::Any => "any",
        }
    }

    /// True for the integer and float types.
    pub fn is_numeric(self) -> bool {
        self.is_integer() || matches!(self, Primitive::Float32 | Primitive::Float64)
    }

    /// True for the integer types.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Primitive::Int
                | Primitive::Int32
                | Primitive::Int64
                | Primitive::UInt
                | Primitive::UInt32
                | Primitive::UInt64
        )
    }
}

/// `boolean`
pub const BOOLEAN: Type = Type::Primitive(Primitive::Boolean);
/// `int` (64 bits in nagare, as Go's `int` on 64-bit platforms).
pub const INT: Type = Type::Primitive(Primitive::Int);
/// `int32`
pub const INT32: Type = Type::Primitive(Primitive::Int32);
/// `int64`
pub const INT64: Type = Type::Primitive(Primitive::Int64);
/// `uint` (64 bits).
pub const UINT: Type = Type::Primitive(Primitive::UInt);
/// `uint32`
pub const UINT32: Type = Type::Primitive(Primitive::UInt32);
/// `uint64`
pub const UINT64: Type = Type::Primitive(Primitive::UInt64);
/// `float32`
pub const FLOAT32: Type = Type::Primitive(Primitive::Float32);
/// `float64`
pub const FLOAT64: Type = Type::Primitive(Primitive::Float64);
/// `string`
pub const STRING: Type = Type::Primitive(Primitive::String);
/// `bytes` (standard base64 in JSON, as Go encodes `[]byte`).
pub const BYTES: Type = Type::Primitive(Primitive::Bytes);
/// `any`: an arbitrary JSON value.
pub const ANY: Type = Type::Primitive(Primitive::Any);
/// Goa's default error type: the six-key error object (`name`, `id`, `message`,
/// `temporary`, `timeout`, `fault`).
pub const ERROR_RESULT: Type = Type::ErrorResult;

/// A type in a design.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// A primitive.
    Primitive(Primitive),
    /// `array_of(T)`
    Array(Box<Type>),
    /// `map_of(K, V)`
    Map(Box<Type>, Box<Type>),
    /// An inline attribute block (`payload(|p| ...)`), named after its method by the
    /// generator.
    Object(Arc<Object>),
    /// A named type or result type.
    User(Arc<UserType>),
    /// `collection_of(result_type)`: an array of a result type that keeps its views.
    Collection(Arc<UserType>),
    /// Goa's default error object.
    ErrorResult,
}

impl From<&Type> for Type {
    fn from(t: &Type) -> Self {
        t.clone()
    }
}

impl Type {
    /// The name of a user type, `None` for anything else.
    pub fn name(&self) -> Option<&str> {
        match self {
            Type::User(u) => Some(&u.name),
            _ => None,
        }
    }

    /// The attributes of an object type (inline or user), `None` for anything else.
    pub fn object(&self) -> Option<&Object> {
        match self {
            Type::Object(o) => Some(o),
            Type::User(u) => Some(&u.object),
            _ => None,
        }
    }

    /// The primitive, if this is one.
    pub fn primitive(&self) -> Option<Primitive> {
        match self {
            Type::Primitive(p) => Some(*p),
            _ => None,
        }
    }

    /// The result type behind this type if it has views (a result type or a
    /// collection of one).
    pub fn viewed(&self) -> Option<&UserType> {
        match self {
            Type::User(u) | Type::Collection(u) if u.result.is_some() => Some(u),
            _ => None,
        }
    }
}

/// `array_of(T)`: a JSON array of `T`.
pub fn array_of(elem: impl Into<Type>) -> Type {
    Type::Array(Box::new(elem.into()))
}

/// `map_of(K, V)`: a JSON object from `K` (a string or integer type) to `V`.
pub fn map_of(key: impl Into<Type>, value: impl Into<Type>) -> Type {
    Type::Map(Box::new(key.into()), Box::new(value.into()))
}

/// `collection_of(R)`: an array of the result type `R` that is rendered with `R`'s
/// views.
pub fn collection_of(result: &Type) -> Type {
    match result {
        Type::User(u) => Type::Collection(u.clone()),
        // Not a result type: the design validator reports it.
        other => array_of(other.clone()),
    }
}

/// A named type (`type_`) or result type (`result_type`).
#[derive(Clone, Debug, PartialEq)]
pub struct UserType {
    /// The type's name (the generated Rust type's, in PascalCase).
    pub name: String,
    /// What the type is, for documentation.
    pub description: Option<String>,
    /// Its attributes.
    pub object: Object,
    /// Present for result types.
    pub result: Option<ResultTypeInfo>,
    /// Where the type is defined.
    pub source: Option<Source>,
}

/// What a result type has beyond a plain type.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultTypeInfo {
    /// The media type identifier (`application/vnd.goa.summary`).
    pub identifier: String,
    /// Declared views in declaration order; `default` is added by [`UserType::views`] when
    /// the design does not declare it.
    pub views: Vec<View>,
}

impl UserType {
    /// The views of a result type, `default` always first. The `default` view lists
    /// every attribute unless the design declares it.
    pub fn views(&self) -> Vec<View> {
        let Some(info) = &self.result else {
            return Vec::new();
        };
        let mut views = Vec::with_capacity(info.views.len() + 1);
        match info.views.iter().find(|v| v.name == "default") {
            Some(v) => views.push(v.clone()),
            None => views.push(View {
                name: "default".into(),
                description: None,
                source: self.source,
                attributes: self
                    .object
                    .attributes
                    .iter()
                    .map(|a| a.name.clone())
                    .collect(),
            }),
        }
        views.extend(info.views.iter().filter(|v| v.name != "default").cloned());
        views
    }
}

/// A view of a result type: the attributes it renders.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// The view's name.
    pub name: String,
    /// What the view is for.
    pub description: Option<String>,
    /// The attributes it renders, by name.
    pub attributes: Vec<String>,
    /// Where the view is declared.
    pub source: Option<Source>,
}

impl View {
    /// Lists an attribute in the view.
    pub fn attribute(&mut self, name: &str) -> &mut Self {
        self.attributes.push(name.to_owned());
        self
    }

    /// Documents the view.
    pub fn description(&mut self, text: &str) -> &mut Self {
        self.description = Some(text.to_owned());
        self
    }
}

/// An object: attributes in declaration order and the names of the required ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    /// What the object is, for documentation.
    pub description: Option<String>,
    /// Its attributes, in declaration order.
    pub attributes: Vec<Attribute>,
    /// The names of the required ones.
    pub required: Vec<String>,
    /// Where each name of `required` was made required (its `required(..)`
    /// call), in the same order.
    pub required_sources: Vec<Source>,
    /// Where the object is declared (the `payload(..)`, `type_(..)`... call).
    pub source: Option<Source>,
}

impl Object {
    /// An empty object declared at the caller's location.
    #[track_caller]
    pub(crate) fn here() -> Self {
        Object {
            source: Some(Source::caller()),
            ..Object::default()
        }
    }

    /// Adds an attribute (Goa's `Attribute`) with its description (`""` for
    /// none). Chain validations on the returned attribute.
    #[track_caller]
    pub fn attribute(
        &mut self,
        name: &str,
        ty: impl Into<Type>,
        description: &str,
    ) -> &mut Attribute {
        let mut attr = Attribute::new(name, ty.into());
        if !description.is_empty() {
            attr.description = Some(description.to_owned());
        }
        self.attributes.push(attr);
        let last = self.attributes.len() - 1;
        &mut self.attributes[last]
    }

    #[track_caller]
    fn credential(
        &mut self,
        name: &str,
        ty: Type,
        description: &str,
        c: Credential,
    ) -> &mut Attribute {
        let attr = self.attribute(name, ty, description);
        attr.credential = Some(c);
        attr
    }

    /// The user name of basic authentication (Goa's `Username`); read from the
    /// `Authorization: Basic` header.
    #[track_caller]
    pub fn username(&mut self, name: &str, ty: Type, description: &str) -> &mut Attribute {
        self.credential(name, ty, description, Credential::Username)
    }

    /// The password of basic authentication (Goa's `Password`).
    #[track_caller]
    pub fn password(&mut self, name: &str, ty: Type, description: &str) -> &mut Attribute {
        self.credential(name, ty, description, Credential::Password)
    }

    /// A JWT token (Goa's `Token`); read from the `Authorization` header unless
    /// mapped elsewhere, with any `Bearer ` prefix removed.
    #[track_caller]
    pub fn token(&mut self, name: &str, ty: Type, description: &str) -> &mut Attribute {
        self.credential(name, ty, description, Credential::Token)
    }

    /// The key of the API-key scheme `scheme` (Goa's `APIKey`); read from the
    /// `Authorization` header unless mapped elsewhere.
    #[track_caller]
    pub fn api_key(
        &mut self,
        scheme: &str,
        name: &str,
        ty: Type,
        description: &str,
    ) -> &mut Attribute {
        self.credential(
            name,
            ty,
            description,
            Credential::ApiKey {
                scheme: scheme.to_owned(),
            },
        )
    }

    /// The attribute carrying a credential, if any.
    pub fn credential_attribute(&self, c: &Credential) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.credential.as_ref() == Some(c))
    }

    /// Marks attributes as required.
    #[track_caller]
    pub fn required<I, S>(&mut self, names: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let source = Source::caller();
        for name in names {
            self.required.push(name.as_ref().to_owned());
            self.required_sources.push(source);
        }
        self
    }

    /// Documents the object.
    pub fn description(&mut self, text: &str) -> &mut Self {
        self.description = Some(text.to_owned());
        self
    }

    /// The attribute called `name`.
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Whether `name` is required.
    pub fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }
}

/// One attribute of an object with its validations.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// The attribute's name (the wire name; the Rust field is its snake_case).
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// What it is, for documentation.
    pub description: Option<String>,
    /// The value used when it is absent.
    pub default: Option<Value>,
    /// An example value, for documentation and specs.
    pub example: Option<Value>,
    /// Its validations.
    pub validation: Validation,
    /// The credential this attribute carries, for secured methods.
    pub credential: Option<Credential>,
    /// Where it is declared.
    pub source: Option<Source>,
}

/// What a payload attribute carries for a security scheme (Goa's `Username`,
/// `Password`, `Token`, `APIKey`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The user name of basic authentication.
    Username,
    /// The password of basic authentication.
    Password,
    /// A JWT (or other bearer) token.
    Token,
    /// The key of the API-key scheme named here.
    ApiKey {
        /// The scheme's name.
        scheme: String,
    },
}

impl Attribute {
    #[track_caller]
    fn new(name: &str, ty: Type) -> Self {
        Attribute {
            name: name.to_owned(),
            ty,
            description: None,
            default: None,
            example: None,
            validation: Validation::default(),
            credential: None,
            source: Some(Source::caller()),
        }
    }

    /// Documents the attribute.
    pub fn description(&mut self, text: &str) -> &mut Self {
        self.description = Some(text.to_owned());
        self
    }

    /// Value used when the attribute is absent.
    pub fn default(&mut self, value: impl Into<Value>) -> &mut Self {
        self.default = Some(value.into());
        self
    }

    /// Example value for documentation and specs.
    pub fn example(&mut self, value: impl Into<Value>) -> &mut Self {
        self.example = Some(value.into());
        self
    }

    /// Restricts the value to a set (Goa's `Enum`).
    pub fn enum_<I, V>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        self.validation
            .enum_values
            .extend(values.into_iter().map(Into::into));
        self
    }

    /// Requires a string format (Goa's `Format`).
    pub fn format(&mut self, format: Format) -> &mut Self {
        self.validation.format = Some(format);
        self
    }

    /// Requires strings to match a regular expression (Rust `regex` syntax, which
    /// accepts the RE2 syntax Goa uses).
    pub fn pattern(&mut self, regex: &str) -> &mut Self {
        self.validation.pattern = Some(regex.to_owned());
        self
    }

    /// Minimum length: characters for strings, elements for arrays and maps.
    pub fn min_length(&mut self, n: usize) -> &mut Self {
        self.validation.min_length = Some(n);
        self
    }

    /// Maximum length: characters for strings, elements for arrays and maps.
    pub fn max_length(&mut self, n: usize) -> &mut Self {
        self.validation.max_length = Some(n);
        self
    }

    /// Smallest allowed number (inclusive). Integer bounds stay exact: they are
    /// never rounded through a float.
    pub fn minimum(&mut self, n: impl Into<Bound>) -> &mut Self {
        self.validation.minimum = Some(n.into());
        self
    }

    /// Largest allowed number (inclusive), exact like [`minimum`](Self::minimum).
    pub fn maximum(&mut self, n: impl Into<Bound>) -> &mut Self {
        self.validation.maximum = Some(n.into());
        self
    }
}

/// The validations of one attribute.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Validation {
    /// The values allowed (Goa's `Enum`).
    pub enum_values: Vec<Value>,
    /// The string format required.
    pub format: Option<Format>,
    /// The regular expression strings must match.
    pub pattern: Option<String>,
    /// Minimum length (characters, elements).
    pub min_length: Option<usize>,
    /// Maximum length (characters, elements).
    pub max_length: Option<usize>,
    /// Smallest allowed number.
    pub minimum: Option<Bound>,
    /// Largest allowed number.
    pub maximum: Option<Bound>,
}

/// A bound of `minimum` or `maximum`, as written: an integer stays an integer
/// (checked exactly, even past 2^53), a float stays a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// An integer bound (any of Rust's integer types fits).
    Int(i128),
    /// A floating-point bound.
    Float(f64),
}

impl Bound {
    /// The bound as a float, for comparisons between bounds and for float attributes.
    pub fn as_f64(self) -> f64 {
        match self {
            Bound::Int(i) => i as f64,
            Bound::Float(f) => f,
        }
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Int(i) => write!(f, "{i}"),
            Bound::Float(x) => write!(f, "{x}"),
        }
    }
}

macro_rules! int_bound {
    ($($t:ty),*) => {$(
        impl From<$t> for Bound {
            fn from(n: $t) -> Self {
                Bound::Int(i128::from(n))
            }
        }
    )*};
}

int_bound!(i8, i16, i32, i64, u8, u16, u32, u64);

impl From<usize> for Bound {
    fn from(n: usize) -> Self {
        Bound::Int(n as i128)
    }
}

impl From<f32> for Bound {
    fn from(n: f32) -> Self {
        Bound::Float(f64::from(n))
    }
}

impl From<f64> for Bound {
    fn from(n: f64) -> Self {
        Bound::Float(n)
    }
}

impl Validation {
    /// True when no validation is set.
    pub fn is_empty(&self) -> bool {
        *self == Validation::default()
    }
}

/// String formats, as Goa names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// RFC 3339 date-time.
    DateTime,
    /// RFC 3339 full-date.
    Date,
    /// A UUID.
    Uuid,
    /// An e-mail address.
    Email,
    /// An absolute URI.
    Uri,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An RFC 1123 host name.
    Hostname,
}

impl Format {
    /// Goa's name for the format (`date-time`, `uuid`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Uuid => "uuid",
            Format::Email => "email",
            Format::Uri => "uri",
            Format::Ipv4 => "ipv4",
            Format::Ipv6 => "ipv6",
            Format::Hostname => "hostname",
        }
    }
}

/// Defines a named type (Goa's `Type`).
#[track_caller]
pub fn type_(name: &str, build: impl FnOnce(&mut Object)) -> Type {
    let mut object = Object::here();
    build(&mut object);
    Type::User(Arc::new(UserType {
        name: name.to_owned(),
        description: object.description.take(),
        object,
        result: None,
        source: Some(Source::caller()),
    }))
}

/// Builder of a result type: an object plus a type name and views.
#[derive(Debug, Default)]
pub struct ResultTypeBuilder {
    type_name: Option<String>,
    object: Object,
    views: Vec<View>,
}

impl ResultTypeBuilder {
    /// The name of the generated type (Goa's `TypeName`); defaults to one derived
    /// from the identifier.
    pub fn type_name(&mut self, name: &str) -> &mut Self {
        self.type_name = Some(name.to_owned());
        self
    }

    /// Declares a view listing some of the attributes.
    #[track_caller]
    pub fn view(&mut self, name: &str, build: impl FnOnce(&mut View)) -> &mut Self {
        let mut view = View {
            name: name.to_owned(),
            description: None,
            attributes: Vec::new(),
            source: Some(Source::caller()),
        };
        build(&mut view);
        self.views.push(view);
        self
    }
}

impl std::ops::Deref for ResultTypeBuilder {
    type Target = Object;
    fn deref(&self) -> &Object {
        &self.object
    }
}

impl std::ops::DerefMut for ResultTypeBuilder {
    fn deref_mut(&mut self) -> &mut Object {
        &mut self.object
    }
}

/// Defines a result type (Goa's `ResultType`): a type with views.
#[track_caller]
pub fn result_type(identifier: &str, build: impl FnOnce(&mut ResultTypeBuilder)) -> Type {
    let mut b = ResultTypeBuilder {
        object: Object::here(),
        ..ResultTypeBuilder::default()
    };
    build(&mut b);
    let name = b
        .type_name
        .unwrap_or_else(|| name_from_identifier(identifier));
    let mut object = b.object;
    Type::User(Arc::new(UserType {
        name,
        description: object.description.take(),
        object,
        result: Some(ResultTypeInfo {
            identifier: identifier.to_owned(),
            views: b.views,
        }),
        source: Some(Source::caller()),
    }))
}

/// `application/vnd.goa.summary` -> `Summary`, as Goa derives a type name.
fn name_from_identifier(identifier: &str) -> String {
    let base = identifier.split(';').next().unwrap_or(identifier);
    let last = base.rsplit(['.', '/']).next().unwrap_or(base);
    let mut chars = last.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => "Result".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_type_name_derives_from_identifier() {
        let t = result_type("application/vnd.goa.summary", |_| {});
        assert_eq!(t.name(), Some("Summary"));
    }

    #[test]
    fn default_view_lists_every_attribute_unless_declared() {
        let t = result_type("application/vnd.x", |r| {
            r.attribute("a", STRING, "");
            r.attribute("b", INT, "");
            r.view("tiny", |v| {
                v.attribute("a");
            });
        });
        let Type::User(u) = &t else { unreachable!() };
        let views = u.views();
        assert_eq!(views[0].name, "default");
        assert_eq!(views[0].attributes, ["a", "b"]);
        assert_eq!(views[1].name, "tiny");
    }
}
