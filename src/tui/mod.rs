//! The console: a ratatui TUI over the engine. It talks to the engine only through
//! `EngineHandle`; `app` routes keys to the panes (`panes`), which own their state and
//! keys; `view` draws a frame from the state alone; `runner` owns the terminal and the
//! event loop.

pub mod app;
mod command_line;
pub mod keymap;
pub mod model;
mod panes;
pub mod runner;
mod terminal;
#[cfg(test)]
mod tests;
pub mod theme;
pub mod view;
mod views;
