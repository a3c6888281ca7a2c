//! What a reference needs to know about a source beyond its words: who
//! wrote it, when it was published, the identifiers that find it again
//! (kept with the source, read by the reference export).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceMeta {
    /// The work's own title, where the document's shows more (arXiv's
    /// carries its authors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// As written ("Ada Lovelace"); the first is the first author.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// "2024-03-01", "2024-03" or "2024".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    /// A site's own name ("The Guardian"), where it gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Wikipedia: the revision read, so the citation names that version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// arXiv's primary category ("cs.CL").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl SourceMeta {
    pub fn is_empty(&self) -> bool {
        *self == SourceMeta::default()
    }

    /// The year of `published`, if it has one.
    pub fn year(&self) -> Option<i32> {
        self.published
            .as_deref()
            .and_then(|p| p.get(..4))
            .and_then(|y| y.parse().ok())
    }
}
