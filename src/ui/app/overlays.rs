//! What is drawn over the screen, as a stack: drawn bottom to top, and the
//! top one gets the keys first. Opening search over an open source view
//! puts it on top, where the keys go (issue 10: it used to open beneath
//! while taking the keys).

use crate::ui::command_palette::CommandPalette;
use crate::ui::picker::ModelPicker;
use crate::ui::question_picker::QuestionPicker;
use crate::ui::search_view::SearchOverlay;
use crate::ui::source_detail::SourceDetail;

pub enum Overlay {
    /// The key help, scrolled by `scroll` lines.
    Help {
        scroll: u16,
    },
    Picker(ModelPicker),
    Sources(SourceDetail),
    Search(SearchOverlay),
    Questions(QuestionPicker),
    Palette(CommandPalette),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Help,
    Picker,
    Sources,
    Search,
    Questions,
    Palette,
}

impl Overlay {
    pub fn kind(&self) -> Kind {
        match self {
            Overlay::Help { .. } => Kind::Help,
            Overlay::Picker(_) => Kind::Picker,
            Overlay::Sources(_) => Kind::Sources,
            Overlay::Search(_) => Kind::Search,
            Overlay::Questions(_) => Kind::Questions,
            Overlay::Palette(_) => Kind::Palette,
        }
    }
}

/// At most one overlay of each kind; the last is on top.
#[derive(Default)]
pub struct Overlays {
    stack: Vec<Overlay>,
}

impl Overlays {
    /// Puts `o` on top (an open one of the same kind is replaced).
    pub fn push(&mut self, o: Overlay) {
        self.close(o.kind());
        self.stack.push(o);
    }

    pub fn close(&mut self, kind: Kind) {
        self.stack.retain(|o| o.kind() != kind);
    }

    pub fn is_open(&self, kind: Kind) -> bool {
        self.stack.iter().any(|o| o.kind() == kind)
    }

    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }

    pub fn top(&self) -> Option<Kind> {
        self.stack.last().map(Overlay::kind)
    }

    pub fn top_mut(&mut self) -> Option<&mut Overlay> {
        self.stack.last_mut()
    }

    /// Bottom to top, for drawing.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Overlay> {
        self.stack.iter_mut()
    }

    pub fn search(&self) -> Option<&SearchOverlay> {
        self.stack.iter().find_map(|o| match o {
            Overlay::Search(s) => Some(s),
            _ => None,
        })
    }

    pub fn search_mut(&mut self) -> Option<&mut SearchOverlay> {
        self.stack.iter_mut().find_map(|o| match o {
            Overlay::Search(s) => Some(s),
            _ => None,
        })
    }

    pub fn picker_mut(&mut self) -> Option<&mut ModelPicker> {
        self.stack.iter_mut().find_map(|o| match o {
            Overlay::Picker(p) => Some(p),
            _ => None,
        })
    }

    pub fn questions(&self) -> Option<&QuestionPicker> {
        self.stack.iter().find_map(|o| match o {
            Overlay::Questions(q) => Some(q),
            _ => None,
        })
    }

    pub fn questions_mut(&mut self) -> Option<&mut QuestionPicker> {
        self.stack.iter_mut().find_map(|o| match o {
            Overlay::Questions(q) => Some(q),
            _ => None,
        })
    }

    pub fn sources(&self) -> Option<&SourceDetail> {
        self.stack.iter().find_map(|o| match o {
            Overlay::Sources(d) => Some(d),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_overlay_is_on_top_and_one_of_each_kind() {
        let mut o = Overlays::default();
        o.push(Overlay::Sources(SourceDetail::new(vec![])));
        o.push(Overlay::Search(SearchOverlay::new()));
        assert_eq!(o.top(), Some(Kind::Search));
        o.push(Overlay::Help { scroll: 0 });
        o.push(Overlay::Help { scroll: 3 });
        assert_eq!(o.iter_mut().count(), 3);
        o.close(Kind::Help);
        o.close(Kind::Search);
        assert_eq!(o.top(), Some(Kind::Sources));
    }
}
