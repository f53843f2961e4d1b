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
//!     t.field(1, "message", STRING, "Text of the message").min_length(1);
//!     t.field(2, "action", STRING, "What happened").enum_(["added"]);
//!     t.required(["message", "action"]);
//! });
//! assert_eq!(event.name(), Some("Event"));
//! ```

use std::sync::Arc;

use serde_json::Value;

/// The primitive types of the design language, named as in Goa.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Primitive {
    Boolean,
    Int,
    Int32,
    Int64,
    UInt,
    UInt32,
    UInt64,
    Float32,
    Float64,
    String,
    Bytes,
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
pub fn array_of(elem: Type) -> Type {
    Type::Array(Box::new(elem))
}

/// `map_of(K, V)`: a JSON object from `K` (a string or integer type) to `V`.
pub fn map_of(key: Type, value: Type) -> Type {
    Type::Map(Box::new(key), Box::new(value))
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
    pub name: String,
    pub description: Option<String>,
    pub object: Object,
    /// Present for result types.
    pub result: Option<ResultTypeInfo>,
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
    pub name: String,
    pub description: Option<String>,
    pub attributes: Vec<String>,
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
    pub description: Option<String>,
    pub attributes: Vec<Attribute>,
    pub required: Vec<String>,
}

impl Object {
    /// Adds a numbered attribute (Goa's `Field`); numbers are checked for duplicates.
    pub fn field(
        &mut self,
        number: u32,
        name: &str,
        ty: Type,
        description: &str,
    ) -> &mut Attribute {
        let attr = self.attribute(name, ty);
        attr.number = Some(number);
        attr.description = Some(description.to_owned());
        attr
    }

    /// Adds an attribute. Chain validations on the returned attribute.
    pub fn attribute(&mut self, name: &str, ty: Type) -> &mut Attribute {
        self.attributes.push(Attribute::new(name, ty));
        let last = self.attributes.len() - 1;
        &mut self.attributes[last]
    }

    fn credential(
        &mut self,
        name: &str,
        ty: Type,
        description: &str,
        c: Credential,
    ) -> &mut Attribute {
        let attr = self.attribute(name, ty);
        attr.credential = Some(c);
        if !description.is_empty() {
            attr.description = Some(description.to_owned());
        }
        attr
    }

    /// The user name of basic authentication (Goa's `Username`); read from the
    /// `Authorization: Basic` header.
    pub fn username(&mut self, name: &str, ty: Type, description: &str) -> &mut Attribute {
        self.credential(name, ty, description, Credential::Username)
    }

    /// The password of basic authentication (Goa's `Password`).
    pub fn password(&mut self, name: &str, ty: Type, description: &str) -> &mut Attribute {
        self.credential(name, ty, description, Credential::Password)
    }

    /// A JWT token (Goa's `Token`); read from the `Authorization` header unless
    /// mapped elsewhere, with any `Bearer ` prefix removed.
    pub fn token(&mut self, name: &str, ty: Type, description: &str) -> &mut Attribute {
        self.credential(name, ty, description, Credential::Token)
    }

    /// The key of the API-key scheme `scheme` (Goa's `APIKey`); read from the
    /// `Authorization` header unless mapped elsewhere.
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
    pub fn required<I, S>(&mut self, names: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.required
            .extend(names.into_iter().map(|n| n.as_ref().to_owned()));
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
    pub name: String,
    /// Field number (`field(n, ..)`), kept for gRPC-style designs and checked for
    /// uniqueness.
    pub number: Option<u32>,
    pub ty: Type,
    pub description: Option<String>,
    pub default: Option<Value>,
    pub example: Option<Value>,
    pub validation: Validation,
    /// The credential this attribute carries, for secured methods.
    pub credential: Option<Credential>,
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
    ApiKey { scheme: String },
}

impl Attribute {
    fn new(name: &str, ty: Type) -> Self {
        Attribute {
            name: name.to_owned(),
            number: None,
            ty,
            description: None,
            default: None,
            example: None,
            validation: Validation::default(),
            credential: None,
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

    /// Smallest allowed number (inclusive).
    pub fn minimum(&mut self, n: impl Into<f64>) -> &mut Self {
        self.validation.minimum = Some(n.into());
        self
    }

    /// Largest allowed number (inclusive).
    pub fn maximum(&mut self, n: impl Into<f64>) -> &mut Self {
        self.validation.maximum = Some(n.into());
        self
    }
}

/// The validations of one attribute.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Validation {
    pub enum_values: Vec<Value>,
    pub format: Option<Format>,
    pub pattern: Option<String>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
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
    DateTime,
    Date,
    Uuid,
    Email,
    Uri,
    Ipv4,
    Ipv6,
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
pub fn type_(name: &str, build: impl FnOnce(&mut Object)) -> Type {
    let mut object = Object::default();
    build(&mut object);
    Type::User(Arc::new(UserType {
        name: name.to_owned(),
        description: object.description.take(),
        object,
        result: None,
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
    pub fn view(&mut self, name: &str, build: impl FnOnce(&mut View)) -> &mut Self {
        let mut view = View {
            name: name.to_owned(),
            description: None,
            attributes: Vec::new(),
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
pub fn result_type(identifier: &str, build: impl FnOnce(&mut ResultTypeBuilder)) -> Type {
    let mut b = ResultTypeBuilder::default();
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
            r.attribute("a", STRING);
            r.attribute("b", INT);
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
