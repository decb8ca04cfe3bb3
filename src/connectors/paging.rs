//! The loop guards every paginated source shares, so HTTP and GraphQL stop for the same
//! reasons, say so in the same words, and agree on whether the run read to the end.

use std::collections::HashSet;

use super::incremental::Reach;
use crate::runtime::context::RunContext;

/// Why pagination ended before the server ran out of pages (when it does, the source
/// sees no next page and stops by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A page identical to the one before: some APIs answer a page past the last with
    /// the last page again.
    RepeatedPage,
    /// The next cursor or URL was one already fetched: the pages left may never come.
    Loop,
    /// `max_pages` was reached.
    MaxPages,
}

impl Stop {
    /// Whether the run saw every page the server holds.
    pub fn reach(self) -> Reach {
        match self {
            Self::RepeatedPage => Reach::End,
            Self::Loop | Self::MaxPages => Reach::Cut,
        }
    }

    /// The run-log line for this stop after `pages` pages.
    pub fn explain(self, pages: u32, max_pages: u32) -> String {
        match self {
            Self::RepeatedPage => {
                format!("page {pages} repeats the previous page; stopping pagination")
            }
            Self::Loop => {
                format!("page {pages} points back to a page already fetched; stopping pagination")
            }
            Self::MaxPages => {
                format!("stopped after max_pages = {max_pages}; raise it to fetch more")
            }
        }
    }
}

/// Counts pages and remembers where they came from.
#[derive(Debug)]
pub struct Paging {
    max_pages: u32,
    pages: u32,
    positions: HashSet<String>,
    previous_body: Option<u64>,
}

impl Paging {
    pub fn new(max_pages: u32) -> Self {
        Self {
            max_pages: max_pages.max(1),
            pages: 0,
            positions: HashSet::new(),
            previous_body: None,
        }
    }

    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Ends paging for `stop`, saying why in the run log; returns how far it read.
    pub fn end(&self, ctx: &RunContext, stop: Stop) -> Reach {
        ctx.log(stop.explain(self.pages, self.max_pages));
        stop.reach()
    }

    /// Takes in a fetched page's body; a page equal to the one before ends paging.
    pub fn fetched(&mut self, body: &[u8]) -> Result<(), Stop> {
        self.pages += 1;
        // XXH3, not the standard library's SipHash: a page's body is hashed whole, and
        // SipHash over every body was 1 % of an extraction.
        let hash = crate::fingerprint::content_hash(body);
        if self.previous_body.replace(hash) == Some(hash) {
            return Err(Stop::RepeatedPage);
        }
        Ok(())
    }

    /// Whether to fetch the next page, found at `position` (a cursor or URL; `None` for
    /// page numbers and offsets, which cannot loop).
    pub fn advance(&mut self, position: Option<String>) -> Result<(), Stop> {
        if let Some(position) = position
            && !self.positions.insert(position)
        {
            return Err(Stop::Loop);
        }
        if self.pages >= self.max_pages {
            return Err(Stop::MaxPages);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_seen_before_is_a_loop_even_pages_apart() {
        let mut paging = Paging::new(100);
        for (body, cursor) in [("p1", "a"), ("p2", "b"), ("p3", "a")] {
            paging.fetched(body.as_bytes()).unwrap();
            let step = paging.advance(Some(cursor.to_owned()));
            if cursor == "a" && paging.pages() == 3 {
                assert_eq!(step, Err(Stop::Loop));
                assert_eq!(Stop::Loop.reach(), Reach::Cut);
            } else {
                assert_eq!(step, Ok(()));
            }
        }
    }

    #[test]
    fn a_repeated_page_ends_paging_as_read_to_the_end() {
        let mut paging = Paging::new(100);
        paging.fetched(b"same").unwrap();
        assert_eq!(paging.fetched(b"same"), Err(Stop::RepeatedPage));
        assert_eq!(Stop::RepeatedPage.reach(), Reach::End);
    }

    #[test]
    fn max_pages_cuts_the_run() {
        let mut paging = Paging::new(2);
        paging.fetched(b"1").unwrap();
        assert_eq!(paging.advance(None), Ok(()));
        paging.fetched(b"2").unwrap();
        assert_eq!(paging.advance(None), Err(Stop::MaxPages));
        assert_eq!(
            Stop::MaxPages.explain(2, 2),
            "stopped after max_pages = 2; raise it to fetch more"
        );
    }
}
