// Infinite scrolling: call ``load`` while a sentinel element is visible in its scroller.

/** Keep calling ``load()`` (which resolves true while more remains) while ``sentinel`` shows. */
export function whenVisible(sentinel, root, load) {
  let running = false;
  let again = false;
  const visible = () => {
    if (!sentinel.isConnected || sentinel.offsetParent === null) return false;
    const box = sentinel.getBoundingClientRect();
    const area = root.getBoundingClientRect();
    return box.bottom >= area.top - 200 && box.top <= area.bottom + 200;
  };
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        // A page may not fill the scroller: keep loading until the sentinel is out of view.
        while (visible() && (await load())) {
          await new Promise(requestAnimationFrame);
        }
      } while (again);
    } finally {
      running = false;
    }
  };
  const observer = new IntersectionObserver(
    (entries) => {
      if (entries.some((entry) => entry.isIntersecting)) run();
    },
    { root, rootMargin: "200px" },
  );
  observer.observe(sentinel);
  return run;
}
