// Search and photo pages, progressive enhancement only: without this file the "Next" link and the
// thumbnail work as they are.
"use strict";
(function () {
  // The next page of results loads into the grid when its "Next" link scrolls into view.
  function infiniteScroll() {
    const grid = document.querySelector('#results ul.grid');
    const next = document.querySelector('#results .pager a[rel="next"]');
    const status = document.getElementById("results-status");
    if (!grid || !next || !("IntersectionObserver" in window) || !window.fetch || !window.DOMParser) {
      return;
    }
    let loading = false;
    const observer = new IntersectionObserver(function (entries) {
      if (!loading && entries.some(function (e) { return e.isIntersecting; })) {
        load();
      }
    }, { rootMargin: "600px 0px" });

    async function load() {
      loading = true;
      try {
        const response = await fetch(next.href, {
          headers: { "X-Imgsearch-Partial": "results" }, credentials: "same-origin",
        });
        if (!response.ok || response.redirected) {
          throw new Error("HTTP " + response.status);
        }
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const items = page.querySelectorAll("ul.grid > li");
        if (items.length === 0) {
          throw new Error("no results");
        }
        items.forEach(function (li) { grid.appendChild(document.adoptNode(li)); });
        const more = page.querySelector('.pager a[rel="next"]');
        if (status) {
          status.textContent = grid.children.length + " photos shown";
        }
        observer.unobserve(next);
        if (more) {
          next.setAttribute("href", more.getAttribute("href"));
          observer.observe(next); // fires again at once when the link is still in view
        } else {
          next.remove();
        }
      } catch (err) {
        observer.disconnect(); // the link itself still works
      } finally {
        loading = false;
      }
    }
    observer.observe(next);
  }

  // The photo page: when the original cannot be shown, the thumbnail stands in.
  function thumbnailFallback() {
    const img = document.querySelector(".photo img[data-fallback]");
    if (!img) {
      return;
    }
    img.addEventListener("error", function () {
      const fallback = img.getAttribute("data-fallback");
      if (fallback && img.getAttribute("src") !== fallback) {
        img.setAttribute("src", fallback);
      }
    }, { once: true });
    if (img.complete && img.naturalWidth === 0) {
      img.setAttribute("src", img.getAttribute("data-fallback"));
    }
  }

  // On a phone the filters fill a screen: once there are results, fold them (one tap opens them again).
  function foldFiltersOnPhones() {
    const filters = document.querySelector("details.filters");
    const results = document.querySelector("#results ul.grid > li");
    if (filters && results && window.matchMedia && window.matchMedia("(max-width: 600px)").matches) {
      filters.open = false;
    }
  }

  infiniteScroll();
  thumbnailFallback();
  foldFiltersOnPhones();
})();
