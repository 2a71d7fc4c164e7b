// The report page's progress bar: polls django-notify-tasks' task-status endpoint
// ({"id", "state", "progress": {"current", "total", "percent"} | null, "result", "error"})
// until the task has finished.
(function () {
  "use strict";

  const box = document.getElementById("report-progress");
  const bar = box.querySelector("progress");
  const percent = box.querySelector(".percent");
  const state = box.querySelector(".state");
  const outcome = box.querySelector(".outcome");
  const FINISHED = ["SUCCESS", "FAILURE", "REVOKED"];
  const INTERVAL_MS = 500;

  function show(value, text) {
    bar.value = value;
    bar.textContent = value + "%";
    percent.textContent = value + "%";
    state.textContent = text;
  }

  function render(status) {
    box.dataset.state = status.state;
    const progress = status.progress;
    if (status.state === "SUCCESS") {
      show(100, "done");
      outcome.textContent = JSON.stringify(status.result, null, 2);
      outcome.hidden = false;
    } else if (status.state === "FAILURE" || status.state === "REVOKED") {
      show(Math.round(bar.value), "failed: " + (status.error || status.state));
    } else if (progress) {
      show(Math.round(progress.percent), "running: " + progress.current + " of " + progress.total);
    } else {
      show(0, status.state === "PENDING" ? "queued" : status.state.toLowerCase());
    }
  }

  async function poll() {
    let status = null;
    try {
      const response = await fetch(box.dataset.statusUrl, {
        credentials: "same-origin",
        headers: {Accept: "application/json"},
      });
      if (!response.ok) {
        throw new Error(response.status + " " + response.statusText);
      }
      status = await response.json();
      render(status);
    } catch (error) {
      state.textContent = "cannot read the progress (" + error.message + "); retrying";
    }
    if (!status || !FINISHED.includes(status.state)) {
      setTimeout(poll, INTERVAL_MS);
    }
  }

  poll();
})();
