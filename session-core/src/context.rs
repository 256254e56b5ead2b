//! The context property bag (`IUccContext`): numbered and named typed properties.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;

use crate::error::ContextError;
use crate::uri::Uri;

/// Well-known numbered properties.
///
/// The values are the UCC API's own (`UCC_SESSION_CONTEXT` and friends), kept verbatim
/// so that contexts written by applications of that model mean the same here.
pub mod ids {
    /// The conversation id (a GUID string). Set on an outgoing session's context, it
    /// travels with the invitation and appears, same value, in the context of the
    /// peer's incoming session, over every transport.
    pub const CONVERSATION_ID: u32 = 10000;
    /// `UCCSC_DISABLE_MEDIA_CONNECTIVITY`.
    pub const DISABLE_MEDIA_CONNECTIVITY: u32 = 198_657;
    /// `UCCSC_PREFER_DIRECT_MEDIA_CONNECTIVITY`.
    pub const PREFER_DIRECT_MEDIA_CONNECTIVITY: u32 = 198_658;
    /// `UCCSC_DISABLE_AUTOMATIC_REDIRECT`.
    pub const DISABLE_AUTOMATIC_REDIRECT: u32 = 198_659;
    /// `UCCSC_TRANSFER_CONTEXT`.
    pub const TRANSFER_CONTEXT: u32 = 201_732;
    /// `UCCSC_ASSOCIATED_CONFERENCE_SESSION`.
    pub const ASSOCIATED_CONFERENCE_SESSION: u32 = 201_733;
    /// `UCCSC_AUTOMATIC_SESSION_RETRY_PREFERENCE`.
    pub const AUTOMATIC_SESSION_RETRY_PREFERENCE: u32 = 200_710;
    /// `UCCSC_REPLACES_SESSION`.
    pub const REPLACES_SESSION: u32 = 201_735;
    /// `UCCPC_DISABLE_MEDIA` (platform context).
    pub const PLATFORM_DISABLE_MEDIA: u32 = 67_585;
    /// `UCCSEC_DISPLAY_NAME` (endpoint context).
    pub const DISPLAY_NAME: u32 = 132_099;
}

/// Most properties one context holds (numbered and named together).
pub const MAX_PROPERTIES: usize = 256;

/// A property's value. One value per property; reading it as another type is an error.
#[derive(Clone, Debug, PartialEq)]
pub enum PropertyValue {
    /// Text (`StringValue`).
    Text(String),
    /// A signed integer (`NumericValue`).
    Integer(i64),
    /// A flag (`BoolValue`).
    Bool(bool),
    /// Opaque bytes.
    Bytes(Bytes),
    /// An address.
    Uri(Uri),
}

impl PropertyValue {
    /// The value's type.
    pub fn kind(&self) -> PropertyKind {
        match self {
            PropertyValue::Text(_) => PropertyKind::Text,
            PropertyValue::Integer(_) => PropertyKind::Integer,
            PropertyValue::Bool(_) => PropertyKind::Bool,
            PropertyValue::Bytes(_) => PropertyKind::Bytes,
            PropertyValue::Uri(_) => PropertyKind::Uri,
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident $(via $conv:ident)?),* $(,)?) => {$(
        impl From<$t> for PropertyValue {
            fn from(v: $t) -> Self { PropertyValue::$v(v $(.$conv())?) }
        }
    )*};
}
value_from!(String => Text, &str => Text via to_owned, i64 => Integer, bool => Bool, Bytes => Bytes, Uri => Uri);

impl From<i32> for PropertyValue {
    fn from(v: i32) -> Self {
        PropertyValue::Integer(i64::from(v))
    }
}

/// The type of a [`PropertyValue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyKind {
    /// [`PropertyValue::Text`].
    Text,
    /// [`PropertyValue::Integer`].
    Integer,
    /// [`PropertyValue::Bool`].
    Bool,
    /// [`PropertyValue::Bytes`].
    Bytes,
    /// [`PropertyValue::Uri`].
    Uri,
}

impl fmt::Display for PropertyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PropertyKind::Text => "text",
            PropertyKind::Integer => "integer",
            PropertyKind::Bool => "bool",
            PropertyKind::Bytes => "bytes",
            PropertyKind::Uri => "uri",
        })
    }
}

/// A property's key: a number or a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PropertyKey {
    /// A numbered property (well-known ids in [`ids`]).
    Id(u32),
    /// An application-defined named property.
    Name(String),
}

impl fmt::Display for PropertyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyKey::Id(id) => write!(f, "#{id}"),
            PropertyKey::Name(n) => write!(f, "{n:?}"),
        }
    }
}

impl From<u32> for PropertyKey {
    fn from(id: u32) -> Self {
        PropertyKey::Id(id)
    }
}

impl From<&str> for PropertyKey {
    fn from(name: &str) -> Self {
        PropertyKey::Name(name.to_owned())
    }
}

/// A property bag with numbered and named typed properties.
///
/// ```
/// use session_core::{Context, context::ids};
///
/// let mut ctx = Context::new();
/// ctx.add(ids::CONVERSATION_ID, "6f1c…")?;
/// ctx.add("app.note", 42)?;
/// assert_eq!(ctx.text(ids::CONVERSATION_ID)?, "6f1c…");
/// assert!(ctx.text("app.note").is_err()); // an integer, not text
/// # Ok::<(), session_core::error::ContextError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    props: BTreeMap<PropertyKey, PropertyValue>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a property, replacing any previous value; returns the previous one.
    pub fn add(
        &mut self,
        key: impl Into<PropertyKey>,
        value: impl Into<PropertyValue>,
    ) -> Result<Option<PropertyValue>, ContextError> {
        let key = key.into();
        if !self.props.contains_key(&key) && self.props.len() >= MAX_PROPERTIES {
            return Err(ContextError::Full {
                max: MAX_PROPERTIES,
            });
        }
        Ok(self.props.insert(key, value.into()))
    }

    /// Builder form of [`Context::add`].
    pub fn with(
        mut self,
        key: impl Into<PropertyKey>,
        value: impl Into<PropertyValue>,
    ) -> Result<Self, ContextError> {
        self.add(key, value)?;
        Ok(self)
    }

    /// Removes a property; returns its value.
    pub fn remove(&mut self, key: impl Into<PropertyKey>) -> Option<PropertyValue> {
        self.props.remove(&key.into())
    }

    /// Whether a property is set.
    pub fn is_set(&self, key: impl Into<PropertyKey>) -> bool {
        self.props.contains_key(&key.into())
    }

    /// A property's value, whatever its type.
    pub fn get(&self, key: impl Into<PropertyKey>) -> Option<&PropertyValue> {
        self.props.get(&key.into())
    }

    /// All properties, numbered first (by id) then named (by name).
    pub fn iter(&self) -> impl Iterator<Item = (&PropertyKey, &PropertyValue)> {
        self.props.iter()
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.props.len()
    }

    /// Whether the context has no property.
    pub fn is_empty(&self) -> bool {
        self.props.is_empty()
    }

    fn typed<'a, T>(
        &'a self,
        key: PropertyKey,
        expected: PropertyKind,
        pick: impl FnOnce(&'a PropertyValue) -> Option<T>,
    ) -> Result<T, ContextError> {
        let value = self
            .props
            .get(&key)
            .ok_or_else(|| ContextError::NotSet { key: key.clone() })?;
        pick(value).ok_or(ContextError::TypeMismatch {
            key,
            expected,
            found: value.kind(),
        })
    }

    /// A text property.
    pub fn text(&self, key: impl Into<PropertyKey>) -> Result<&str, ContextError> {
        self.typed(key.into(), PropertyKind::Text, |v| match v {
            PropertyValue::Text(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// An integer property.
    pub fn integer(&self, key: impl Into<PropertyKey>) -> Result<i64, ContextError> {
        self.typed(key.into(), PropertyKind::Integer, |v| match v {
            PropertyValue::Integer(i) => Some(*i),
            _ => None,
        })
    }

    /// A bool property.
    pub fn bool(&self, key: impl Into<PropertyKey>) -> Result<bool, ContextError> {
        self.typed(key.into(), PropertyKind::Bool, |v| match v {
            PropertyValue::Bool(b) => Some(*b),
            _ => None,
        })
    }

    /// A bytes property.
    pub fn bytes(&self, key: impl Into<PropertyKey>) -> Result<&Bytes, ContextError> {
        self.typed(key.into(), PropertyKind::Bytes, |v| match v {
            PropertyValue::Bytes(b) => Some(b),
            _ => None,
        })
    }

    /// A URI property.
    pub fn uri(&self, key: impl Into<PropertyKey>) -> Result<&Uri, ContextError> {
        self.typed(key.into(), PropertyKind::Uri, |v| match v {
            PropertyValue::Uri(u) => Some(u),
            _ => None,
        })
    }

    /// The conversation id ([`ids::CONVERSATION_ID`]), when set as text.
    pub fn conversation_id(&self) -> Option<&str> {
        self.text(ids::CONVERSATION_ID).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access_and_mismatch() {
        let mut c = Context::new();
        c.add(ids::CONVERSATION_ID, "abc").unwrap();
        c.add("n", 5).unwrap();
        c.add("flag", true).unwrap();
        c.add("raw", Bytes::from_static(b"\x00\x01")).unwrap();
        c.add("who", Uri::parse("sip:a@b").unwrap()).unwrap();
        assert_eq!(c.text(ids::CONVERSATION_ID).unwrap(), "abc");
        assert_eq!(c.conversation_id(), Some("abc"));
        assert_eq!(c.integer("n").unwrap(), 5);
        assert!(c.bool("flag").unwrap());
        assert_eq!(c.bytes("raw").unwrap().as_ref(), b"\x00\x01");
        assert_eq!(c.uri("who").unwrap().user(), Some("a"));
        assert_eq!(
            c.integer(ids::CONVERSATION_ID),
            Err(ContextError::TypeMismatch {
                key: PropertyKey::Id(ids::CONVERSATION_ID),
                expected: PropertyKind::Integer,
                found: PropertyKind::Text
            })
        );
        assert_eq!(
            c.text(7u32),
            Err(ContextError::NotSet {
                key: PropertyKey::Id(7)
            })
        );
    }

    #[test]
    fn numbered_and_named_are_distinct_and_removable() {
        let mut c = Context::new();
        c.add(1u32, "one").unwrap();
        c.add("1", "named one").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            c.add(1u32, 2).unwrap(),
            Some(PropertyValue::Text("one".into()))
        );
        assert_eq!(c.remove(1u32), Some(PropertyValue::Integer(2)));
        assert!(!c.is_set(1u32));
        assert!(c.is_set("1"));
    }

    #[test]
    fn bounded() {
        let mut c = Context::new();
        for i in 0..MAX_PROPERTIES as u32 {
            c.add(i, true).unwrap();
        }
        assert_eq!(
            c.add(99_999u32, true),
            Err(ContextError::Full {
                max: MAX_PROPERTIES
            })
        );
        // Replacing an existing property is still fine when full.
        assert!(c.add(0u32, false).is_ok());
    }
}
