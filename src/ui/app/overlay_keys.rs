//! Keys for the overlay on top of the stack (help, search, earlier
//! questions, the palette, cited sources, the model picker).

use crossterm::event::KeyEvent;

use super::{App, Overlay, OverlayKind, Pending};
use crate::ui::source_detail::open_url;

impl App {
    /// A key for the overlay on top; every key stops there (the screens
    /// below do not see keys while something is drawn over them).
    pub(super) fn overlay_key(&mut self, k: KeyEvent) -> bool {
        let Some(top) = self.overlays.top_mut() else {
            return false;
        };
        use crate::ui::keymap::{
            HELP_VIEW, HelpView, PICKER, Picker, SOURCE_VIEW, SourceView, lookup,
        };
        match top {
            Overlay::Help { scroll } => match lookup(HELP_VIEW, &k) {
                Some(HelpView::Down) => *scroll += 1,
                Some(HelpView::Up) => *scroll = scroll.saturating_sub(1),
                Some(HelpView::PageDown) => *scroll += 10,
                Some(HelpView::PageUp) => *scroll = scroll.saturating_sub(10),
                Some(HelpView::Close) => self.overlays.close(OverlayKind::Help),
                None => return false,
            },
            Overlay::Search(_) => return self.search_key(k),
            Overlay::Palette(_) => return self.palette_key(k),
            Overlay::Questions(q) => {
                use crate::ui::question_picker::Action;
                match q.handle_key(k) {
                    Action::None => return false,
                    Action::Changed => {}
                    Action::Query(text) => self.search_questions(text),
                    Action::Choose(text) => {
                        self.overlays.close(OverlayKind::Questions);
                        self.pending.forget(|p| *p == Pending::QuestionSearch);
                        self.chat.use_question(&text);
                    }
                    Action::Close => {
                        self.overlays.close(OverlayKind::Questions);
                        self.pending.forget(|p| *p == Pending::QuestionSearch);
                    }
                }
            }
            Overlay::Sources(d) => match lookup(SOURCE_VIEW, &k) {
                Some(SourceView::Next) => d.next(),
                Some(SourceView::Prev) => d.prev(),
                Some(SourceView::Open) => {
                    // A file of the library opens at its page in the
                    // user's viewer; anything else in the browser.
                    let opened = match d.current() {
                        Some(s) => match s.file_place() {
                            Some((path, page)) => {
                                crate::library::open::open(&self.library_open, &path, page, |why| {
                                    tracing::warn!("{why}");
                                    crate::ui::terminal::notify(why);
                                })
                                .map(|_| {
                                    format!("opened {}", crate::text::sanitize::one_line(&path))
                                })
                            }
                            None => match &s.url {
                                Some(u) => open_url(u).map(|_| {
                                    format!(
                                        "opening {} in the browser",
                                        crate::text::sanitize::one_line(u)
                                    )
                                }),
                                None => Err("this source has no URL".into()),
                            },
                        },
                        None => Ok(String::new()),
                    };
                    match opened {
                        Ok(msg) if !msg.is_empty() => self.chat.say(msg),
                        Ok(_) => {}
                        Err(e) => self.status.alert = Some(e),
                    }
                }
                Some(SourceView::CopyUrl) => {
                    self.clipboard = d.current().and_then(|s| s.url.clone());
                    self.chat.say(match &self.clipboard {
                        Some(u) => format!("copied {}", crate::text::sanitize::one_line(u)),
                        None => "this source has no URL".into(),
                    });
                }
                Some(SourceView::NextClaim) => d.next_claim(),
                Some(SourceView::CopyBibtex) => {
                    if let Some(s) = d.current() {
                        let (refs, _) = crate::references::of_answers([std::slice::from_ref(s)]);
                        if let Some(r) = refs.first() {
                            self.chat.say(format!("copied the BibTeX entry {}", r.key));
                            self.clipboard = Some(crate::references::bibtex::entry(r));
                        }
                    }
                }
                Some(SourceView::Close) => self.overlays.close(OverlayKind::Sources),
                None => return false,
            },
            Overlay::Picker(p) => match lookup(PICKER, &k) {
                Some(Picker::Up) => p.up(),
                Some(Picker::Down) => p.down(),
                Some(Picker::Choose) => {
                    if let Some(m) = p.chosen().map(str::to_string) {
                        self.status.set_model(&m);
                        self.chat.say(format!(
                            "next answers use {}",
                            crate::text::sanitize::one_line(&m)
                        ));
                        self.chat.conv.choose_model(m, self.handles.ports());
                    }
                    self.overlays.close(OverlayKind::Picker);
                }
                Some(Picker::Close) => self.overlays.close(OverlayKind::Picker),
                None => return false,
            },
        }
        true
    }
}
