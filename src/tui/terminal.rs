//! The terminal: raw mode, the alternate screen and mouse capture, restored on drop and
//! on panic; and a backend that wraps each frame's writes in synchronized output
//! (DEC mode 2026) only when the frame writes something, so an unchanged frame sends
//! nothing at all over a slow link.

use std::io::{self, Stdout, Write};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute, queue};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

pub struct SyncBackend<W: Write = Stdout> {
    inner: CrosstermBackend<W>,
    in_update: bool,
    cursor_hidden: bool,
}

impl<W: Write> SyncBackend<W> {
    fn new(out: W) -> Self {
        Self {
            inner: CrosstermBackend::new(out),
            in_update: false,
            cursor_hidden: false,
        }
    }
}

impl<W: Write> Backend for SyncBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            // crossterm's backend would still reset the colours: 16 bytes for nothing.
            return Ok(());
        }
        if !self.in_update {
            queue!(self.inner, BeginSynchronizedUpdate)?;
            self.in_update = true;
        }
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        // ratatui hides the cursor after every frame; once is enough.
        if !self.cursor_hidden {
            self.inner.hide_cursor()?;
            self.cursor_hidden = true;
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.cursor_hidden = false;
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.in_update {
            queue!(self.inner, EndSynchronizedUpdate)?;
            self.in_update = false;
        }
        Backend::flush(&mut self.inner)
    }
}

/// The console's terminal, put back as it was when dropped or when a panic unwinds.
pub struct ConsoleTerminal {
    pub terminal: Terminal<SyncBackend>,
}

impl ConsoleTerminal {
    pub fn enter() -> io::Result<Self> {
        enable_raw_mode()?;
        execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        let terminal = Terminal::new(SyncBackend::new(io::stdout())).inspect_err(|_| restore())?;
        Ok(Self { terminal })
    }
}

impl Drop for ConsoleTerminal {
    fn drop(&mut self) {
        restore();
    }
}

/// Raw mode off, mouse released, main screen back, cursor shown. Safe to call twice.
fn restore() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;
    use ratatui::{TerminalOptions, Viewport};

    use super::*;

    /// What the terminal would have been sent.
    #[derive(Clone, Default)]
    struct Wire(Arc<Mutex<Vec<u8>>>);

    impl Write for Wire {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn frame_bytes(terminal: &mut Terminal<SyncBackend<Wire>>, wire: &Wire, text: &str) -> String {
        wire.0.lock().unwrap().clear();
        terminal
            .draw(|frame| frame.render_widget(Paragraph::new(text), frame.area()))
            .unwrap();
        String::from_utf8(wire.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn an_unchanged_frame_sends_no_bytes_and_a_change_is_one_synchronized_update() {
        let wire = Wire::default();
        let viewport = Viewport::Fixed(Rect::new(0, 0, 20, 2));
        let mut terminal =
            Terminal::with_options(SyncBackend::new(wire.clone()), TerminalOptions { viewport })
                .unwrap();
        assert!(!frame_bytes(&mut terminal, &wire, "up 3").is_empty());
        assert_eq!(
            frame_bytes(&mut terminal, &wire, "up 3"),
            "",
            "the same frame again writes nothing, not even the cursor or sync markers"
        );
        let changed = frame_bytes(&mut terminal, &wire, "up 4");
        assert!(
            changed.starts_with("\x1b[?2026h") && changed.ends_with("\x1b[?2026l"),
            "{changed:?}"
        );
        assert!(
            changed.contains('4') && !changed.contains("up"),
            "only the changed cell"
        );
    }
}
