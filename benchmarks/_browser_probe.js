// Injected into every page before its own scripts (CDP Page.addScriptToEvaluateOnNewDocument)
// by benchmarks/dashboard_browser.py. It times what the page does, in the page's own clock
// (performance.now(): milliseconds since navigation started):
// - every Dash callback request (fetch to /_dash-update-component): output, start, end of
//   the body, bytes of the body; how many are in flight;
// - when a condition on the DOM (set by the benchmark: `window.__probe.arm(fnSource)`) holds
//   with no callback in flight, checked on every DOM mutation, after every callback and every
//   50 ms; a callback that starts after it resets it.
(() => {
  if (window.__probe) return;
  performance.setResourceTimingBufferSize(100000);
  const probe = {
    pending: 0,
    lastStart: -1,
    lastEnd: -1,
    callbacks: [],
    condition: null,
    armedAt: -1,
    readyAt: null, // the condition holds and nothing is in flight, since this time
    firstMetAt: null, // the condition first held (callbacks may still have been in flight)
    checks: 0,
    inputAt: null, // the user's last input (pointerdown, or a click without one) since armed
    longTasks: [], // durations of the main thread's tasks over 50 ms
  };
  window.__probe = probe;

  const check = () => {
    if (!probe.condition) return;
    probe.checks += 1;
    let ok = false;
    try {
      ok = Boolean(probe.condition());
    } catch (e) {
      ok = false;
    }
    const now = performance.now();
    if (ok && probe.firstMetAt === null) probe.firstMetAt = now;
    if (ok && probe.pending === 0) {
      if (probe.readyAt === null) probe.readyAt = now;
    } else {
      probe.readyAt = null;
    }
  };

  probe.arm = (source, since) => {
    probe.condition = new Function(`return (${source});`);
    probe.armedAt = since === undefined ? performance.now() : since;
    probe.readyAt = null;
    probe.firstMetAt = null;
    probe.inputAt = null;
    probe.callbacks = probe.callbacks.filter((c) => c.start >= probe.armedAt);
    check();
  };
  probe.state = () => ({
    now: performance.now(),
    pending: probe.pending,
    lastStart: probe.lastStart,
    lastEnd: probe.lastEnd,
    readyAt: probe.readyAt,
    firstMetAt: probe.firstMetAt,
    checks: probe.checks,
  });

  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    if (!url.includes("/_dash-update-component")) return realFetch(input, init);
    let output = "?";
    try {
      output = JSON.parse(init.body).output;
    } catch (e) {
      /* keep "?" */
    }
    const record = { output, start: performance.now(), headers: null, end: null, bytes: 0, status: 0 };
    probe.callbacks.push(record);
    probe.pending += 1;
    probe.lastStart = record.start;
    probe.readyAt = null;
    const done = () => {
      record.end = performance.now();
      probe.pending -= 1;
      probe.lastEnd = record.end;
      // After Dash has handled the answer (its own json() resolves in the same turn).
      setTimeout(check, 0);
    };
    return realFetch(input, init).then(
      (response) => {
        record.headers = performance.now();
        record.status = response.status;
        response
          .clone()
          .arrayBuffer()
          .then((body) => {
            record.bytes = body.byteLength;
            done();
          }, done);
        return response;
      },
      (error) => {
        done();
        throw error;
      },
    );
  };

  const input = (event) => {
    const now = performance.now();
    if (event.type === "pointerdown" || probe.inputAt === null || now - probe.inputAt > 1000) {
      probe.inputAt = now;
    }
  };
  window.addEventListener("pointerdown", input, true);
  window.addEventListener("click", input, true);
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) probe.longTasks.push(entry.duration);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {
    /* no long task timing: none counted */
  }

  const start = () => {
    new MutationObserver(check).observe(document, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
    setInterval(check, 50);
  };
  if (document.documentElement) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
