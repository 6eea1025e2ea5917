//! Pagination: every list the platform serves is paged, so no request can ask for a million
//! rows at once.

use serde::Serialize;

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 200;

/// A valid page request: `page` counts from 1, `per_page` is 1..=200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("page must be 1 or more and per_page between 1 and {MAX_PER_PAGE}")]
pub struct PageError;

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl PageRequest {
    pub fn parse(page: Option<u32>, per_page: Option<u32>) -> Result<Self, PageError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 || per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(PageError);
        }
        Ok(Self { page, per_page })
    }
    pub fn page(self) -> u32 {
        self.page
    }
    pub fn per_page(self) -> u32 {
        self.per_page
    }
    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

/// One page of results with what a client needs to ask for the next.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: i64, req: PageRequest) -> Self {
        Self {
            items,
            total,
            page: req.page,
            per_page: req.per_page,
        }
    }
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            per_page: self.per_page,
        }
    }
    pub fn last_page(&self) -> u32 {
        last_page(self.total, self.per_page)
    }
    pub fn has_next(&self) -> bool {
        self.page < self.last_page()
    }
}

/// The number of the last page (at least 1, so an empty list still has a page).
pub fn last_page(total: i64, per_page: u32) -> u32 {
    let pages = u64::try_from(total)
        .unwrap_or(0)
        .div_ceil(u64::from(per_page.max(1)));
    u32::try_from(pages.max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_bounds() {
        assert_eq!(PageRequest::parse(None, None), Ok(PageRequest::default()));
        assert_eq!(PageRequest::parse(Some(0), None), Err(PageError));
        assert_eq!(PageRequest::parse(None, Some(201)), Err(PageError));
        assert_eq!(
            PageRequest::parse(Some(3), Some(20)).map(|p| p.offset()),
            Ok(40)
        );
    }

    #[test]
    fn last_page_rounds_up() {
        let req = PageRequest::parse(Some(1), Some(50)).unwrap_or_default();
        assert_eq!(Page::<()>::new(vec![], 0, req).last_page(), 1);
        assert_eq!(Page::<()>::new(vec![], 168, req).last_page(), 4);
        assert!(Page::<()>::new(vec![], 168, req).has_next());
    }
}
