//! A paginated source's records are parsed in a task of their own: the fetch loop
//! only finds where a page's records are (`body_records`) and where the next page is,
//! and asks for it while this task parses the page before, follows the incremental
//! cursor in it and hands it to the run. Parsing in the fetch loop made every request
//! wait for the page before it to be parsed: a quarter of an extraction's time.

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use super::Pages;
use super::body_records::RecordTexts;
use super::incremental::Watermark;
use crate::domain::Page;

/// One page's records as the fetch loop found them.
pub enum PageRecords {
    Values(Vec<Value>),
    Texts(RecordTexts),
}

impl PageRecords {
    pub fn len(&self) -> usize {
        match self {
            Self::Values(values) => values.len(),
            Self::Texts(texts) => texts.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The parsing task, fed by the fetch loop.
pub struct PageParser {
    sender: mpsc::Sender<PageRecords>,
    task: AbortOnDropHandle<Parsed>,
}

/// What the parsing task made of the pages it was given.
pub struct Parsed {
    /// The cursor followed through every page handed to the run.
    pub watermark: Option<Watermark>,
    /// How many pages went to the run.
    pub handed: u32,
    pub end: End,
}

/// Why the parsing task stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// Every page it was given went to the run.
    AllHanded,
    /// The run stopped taking pages (an output failed), or the task was stopped.
    Stopped,
    /// A record of the page after the last one handed on is not JSON, though the
    /// split found it whole: nested too deep for the parser, say. The reason.
    NotJson(String),
}

impl PageParser {
    /// Starts the task; the pages go to `pages`, the cursor through `watermark`, and
    /// pages sent as lines carry each record's `key`.
    pub fn spawn(pages: Pages, watermark: Option<Watermark>, key: Option<String>) -> Self {
        // One page waiting while one is parsed: the fetch loop is at most a page ahead.
        let (sender, receiver) = mpsc::channel(1);
        let parser = Parser {
            pages,
            watermark,
            key,
        };
        let task = AbortOnDropHandle::new(tokio::spawn(parser.run(receiver)));
        Self { sender, task }
    }

    /// Gives the task a page. `false` means it stopped taking pages (the run stopped
    /// taking them, or a page was not JSON): the fetch loop should stop.
    pub async fn send(&self, records: PageRecords) -> bool {
        self.sender.send(records).await.is_ok()
    }

    /// Waits for the pages given to be parsed and handed on. A panic in the task is the
    /// run's panic, as it would have been in the fetch loop.
    pub async fn finish(self) -> Parsed {
        drop(self.sender);
        match self.task.await {
            Ok(parsed) => parsed,
            Err(error) => match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Parsed {
                    watermark: None,
                    handed: 0,
                    end: End::Stopped,
                },
            },
        }
    }
}

struct Parser {
    pages: Pages,
    watermark: Option<Watermark>,
    key: Option<String>,
}

impl Parser {
    async fn run(mut self, mut receiver: mpsc::Receiver<PageRecords>) -> Parsed {
        let mut handed = 0;
        let end = loop {
            let Some(records) = receiver.recv().await else {
                break End::AllHanded;
            };
            let page = match self.page(records) {
                Ok(page) => page,
                Err(reason) => break End::NotJson(reason),
            };
            if !self.pages.send(page).await {
                break End::Stopped;
            }
            handed += 1;
        };
        Parsed {
            watermark: self.watermark,
            handed,
            end,
        }
    }

    /// The page for the run, the cursor followed through it. Records that are text
    /// become canonical lines when the run takes them, else values.
    fn page(&mut self, records: PageRecords) -> Result<Page, String> {
        let texts = match records {
            PageRecords::Texts(texts) if self.pages.takes_lines() => texts,
            PageRecords::Texts(texts) => return Ok(self.values(texts.parse()?)),
            PageRecords::Values(values) => return Ok(self.values(values)),
        };
        let cursor = self.watermark.as_ref().map(Watermark::field);
        let (lines, cursors) = texts.lines(self.key.as_deref(), cursor)?;
        if let Some(watermark) = &mut self.watermark {
            cursors
                .into_iter()
                .flatten()
                .for_each(|value| watermark.offer(value));
        }
        Ok(Page::Lines(lines))
    }

    fn values(&mut self, records: Vec<Value>) -> Page {
        if let Some(watermark) = &mut self.watermark {
            watermark.page(&records);
        }
        Page::Values(records)
    }
}
