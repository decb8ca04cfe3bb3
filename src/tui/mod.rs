//! The console: a ratatui TUI over the engine. It talks to the engine only through
//! `EngineHandle`; `app` holds the state and turns keys into effects, `view` draws a
//! frame from the state alone, `runner` owns the terminal and the event loop.

pub mod app;
mod command_line;
pub mod keymap;
pub mod model;
pub mod runner;
mod selection;
mod terminal;
#[cfg(test)]
mod tests;
pub mod theme;
pub mod view;
mod views;
