//! The command palette's answers: a chosen row runs as its key would (on
//! the screen below, once the palette is gone), or puts a slash command in
//! the input.

use crossterm::event::{Event, KeyEvent};

use super::{App, Overlay, OverlayKind};
use crate::ui::command_palette::{Action, Run};

impl App {
    pub(super) fn palette_key(&mut self, k: KeyEvent) -> bool {
        let Some(Overlay::Palette(p)) = self.overlays.top_mut() else {
            return false;
        };
        match p.handle_key(k) {
            Action::None => false,
            Action::Changed => true,
            Action::Close => {
                self.overlays.close(OverlayKind::Palette);
                true
            }
            Action::Run(run) => {
                self.overlays.close(OverlayKind::Palette);
                match run {
                    Run::Key(key) => {
                        self.handle_input(&Event::Key(key));
                    }
                    Run::Type(text) => self.chat.use_question(&text),
                }
                true
            }
        }
    }
}
