//! Reading a JSON array one element at a time, from a file or from the
//! entry of a zip that holds it: an export of any size costs the memory of
//! its largest conversation, never of the whole file.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// What the caller does with each element: keep going, or stop early.
pub type Each<'f> = dyn FnMut(usize, &RawValue) -> bool + 'f;

/// Calls `each` with every element of the top-level array in `reader`, with
/// its index. Returns how many were read; an error says where the file
/// stopped making sense (elements before it were handed over).
pub fn each_element(reader: impl Read, each: &mut Each<'_>) -> Result<usize, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let n = de.deserialize_seq(Elements { each })?;
    de.end()?;
    Ok(n)
}

struct Elements<'a, 'f> {
    each: &'a mut Each<'f>,
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            n += 1;
            if !(self.each)(n - 1, &raw) {
                // Drain the rest without keeping it: the caller is done.
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                break;
            }
        }
        Ok(n)
    }
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

/// A reader that counts the bytes read through it (for progress).
pub struct Counting<R> {
    inner: R,
    pub read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// The export's JSON, as the file or as the `name` entry of the zip it is
/// in, with its size (uncompressed) and a byte counter; `with` reads it.
pub fn open<T>(
    path: &Path,
    name: &str,
    with: impl FnOnce(&mut dyn Read, u64, std::rc::Rc<std::cell::Cell<u64>>) -> T,
) -> anyhow::Result<T> {
    use anyhow::Context;
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut magic = [0u8; 4];
    let zipped = file.read(&mut magic).unwrap_or(0) == 4 && magic == *b"PK\x03\x04";
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let read = std::rc::Rc::new(std::cell::Cell::new(0));
    if !zipped {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut r = Counting {
            inner: BufReader::with_capacity(1 << 16, file),
            read: read.clone(),
        };
        return Ok(with(&mut r, size, read));
    }
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .with_context(|| format!("{} is not a readable zip", path.display()))?;
    // The export puts it at the top; a re-zipped folder one level down.
    let entry = zip
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| n.rsplit('/').next() == Some(name))
        .min_by_key(|n| n.len())
        .map(|n| n.into_owned())
        .with_context(|| format!("{} holds no {name}", path.display()))?;
    let f = zip
        .by_name(&entry)
        .with_context(|| format!("cannot read {entry} in {}", path.display()))?;
    let size = f.size();
    let mut r = Counting {
        inner: BufReader::with_capacity(1 << 16, f),
        read: read.clone(),
    };
    Ok(with(&mut r, size, read))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_come_one_by_one_and_a_truncated_file_says_where() {
        let mut seen = Vec::new();
        let n = each_element(&b"[{\"a\":1}, [2], \"x\"]"[..], &mut |i, raw| {
            seen.push((i, raw.get().to_string()));
            true
        })
        .unwrap();
        assert_eq!(n, 3);
        assert_eq!(seen[1], (1, "[2]".to_string()));
        let mut got = 0;
        let err = each_element(&b"[{\"a\":1}, {\"b\": [1, 2"[..], &mut |_, _| {
            got += 1;
            true
        })
        .unwrap_err();
        assert_eq!(got, 1, "the whole element before the cut was handed over");
        assert!(err.is_eof(), "{err}");
        assert!(each_element(&b"{\"not\": \"an array\"}"[..], &mut |_, _| true).is_err());
    }
}
