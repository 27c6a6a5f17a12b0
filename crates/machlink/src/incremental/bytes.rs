//! Byte strings in the state, the delta and the journal, (de)serialised as
//! one block each instead of element by element.
//!
//! serde sees a `Vec<u8>` as a sequence of `u8`: bincode writes it as its
//! length and one byte per element, and reads it back one `u8` call at a
//! time. `serialize_bytes` and `deserialize_byte_buf` write and read the
//! very same bytes (bincode's length prefix is the same for both) in one
//! copy, so these wrappers change no file format, only the time an update
//! spends on symbol names and atom keys (a replaced object's record holds
//! hundreds of them).
//!
//! Use with `#[serde(with = "...")]`: [`one`] for a `Vec<u8>`, [`list`] for
//! a `Vec<Vec<u8>>`, [`keyed`] for a `Vec<(Vec<u8>, V)>`. (The delta's
//! body has a format of its own, see [`super::wire`].)

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A borrowed byte string that serialises as bytes.
struct Ref<'a>(&'a [u8]);

impl Serialize for Ref<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// An owned byte string read as bytes (or, from a format that has no
/// bytes, as a sequence of them).
struct Buf(Vec<u8>);

impl<'de> Deserialize<'de> for Buf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Buf, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Buf;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Buf, E> {
                Ok(Buf(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Buf, E> {
                Ok(Buf(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Buf, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(b) = seq.next_element()? {
                    v.push(b);
                }
                Ok(Buf(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

/// Bounded pre-allocation for a length read from a file.
fn capacity(hint: Option<usize>) -> usize {
    hint.unwrap_or(0).min(1 << 16)
}

pub mod one {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(Buf::deserialize(d)?.0)
    }
}

pub mod list {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(&Ref(b))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<Vec<u8>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of byte strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(capacity(seq.size_hint()));
                while let Some(Buf(b)) = seq.next_element()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

pub mod keyed {
    use super::*;

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &[(Vec<u8>, T)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for (k, t) in v {
            seq.serialize_element(&(Ref(k), t))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<(Vec<u8>, T)>, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Vec<(Vec<u8>, T)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of (byte string, value)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(capacity(seq.size_hint()));
                while let Some((Buf(k), t)) = seq.next_element::<(Buf, T)>()? {
                    out.push((k, t));
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Plain {
        one: Vec<u8>,
        list: Vec<Vec<u8>>,
        keyed: Vec<(Vec<u8>, u64)>,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Wrapped {
        #[serde(with = "one")]
        one: Vec<u8>,
        #[serde(with = "list")]
        list: Vec<Vec<u8>>,
        #[serde(with = "keyed")]
        keyed: Vec<(Vec<u8>, u64)>,
    }

    #[test]
    fn byte_strings_are_written_as_serde_writes_vectors_of_bytes() {
        let long: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        let plain = Plain {
            one: long.clone(),
            list: vec![b"_main".to_vec(), Vec::new(), long.clone()],
            keyed: vec![(b"_f".to_vec(), 1 << 40), (long.clone(), 3)],
        };
        let wrapped = Wrapped {
            one: plain.one.clone(),
            list: plain.list.clone(),
            keyed: plain.keyed.clone(),
        };
        let a = crate::incremental::state::encode(&plain).unwrap();
        let b = crate::incremental::state::encode(&wrapped).unwrap();
        assert_eq!(a, b, "the file format must not change");
        let back: Wrapped = crate::incremental::state::decode(&a).unwrap();
        assert_eq!(back, wrapped);
        let back: Plain = crate::incremental::state::decode(&b).unwrap();
        assert_eq!(back, plain);
    }
}
