// The report page's progress bar. Two sources:
// - the task-status endpoint of django-notify-tasks ({"id", "state", "progress": {"current",
//   "total", "percent"} | null, "result", "error"}), polled until the task has finished: the
//   record, and the only source of the final result;
// - with Centrifugo configured, the publications the worker makes on the digest channel
//   ({"type": "progress", "task_id", "state", "current", "total", "percent", "summary",
//   "error"}), through the package's realtime.js: they move the bar as each step happens, and a final
//   state makes the page poll at once instead of at its next turn.
// The bar never moves back, so a poll that lags behind a publication does not undo it.
// Once the task has succeeded, the digest is shown as the server draws it (charts and
// tables, the page's #digest-result at this same address), never as the result's JSON.
(function () {
  "use strict";

  const box = document.getElementById("report-progress");
  const bar = box.querySelector("progress");
  const percent = box.querySelector(".percent");
  const state = box.querySelector(".state");
  const outcome = box.querySelector(".outcome");
  const live = box.querySelector(".live");
  const taskId = box.dataset.taskId;
  const FINISHED = ["SUCCESS", "FAILURE", "REVOKED"];
  const INTERVAL_MS = 500;
  const byPoll = "the bar follows the task-status endpoint.";
  let finished = false; // the endpoint said SUCCESS, FAILURE or REVOKED
  let polling = false;
  let timer = null;
  let client = null;

  function show(value, text, via) {
    bar.value = value;
    bar.textContent = value + "%";
    percent.textContent = value + "%";
    state.textContent = text;
    box.dataset.via = via;
  }

  function advance(value, text, via) {
    if (value >= bar.value) {
      show(value, text, via);
    }
  }

  function running(progress) {
    return "running: " + progress.current + " of " + progress.total;
  }

  // What the endpoint says: the record.
  function render(status) {
    box.dataset.state = status.state;
    const progress = status.progress;
    if (status.state === "SUCCESS") {
      show(100, "done", "poll");
      box.querySelector(".as-tables").hidden = false; // the page drawn by the server
      showDigest();
    } else if (status.state === "FAILURE" || status.state === "REVOKED") {
      show(Math.round(bar.value), "failed: " + (status.error || status.state), "poll");
    } else if (progress) {
      advance(Math.round(progress.percent), running(progress), "poll");
    } else if (box.dataset.via === "poll") {
      show(0, status.state === "PENDING" ? "queued" : status.state.toLowerCase(), "poll");
    }
  }

  // The finished digest as the server draws it; the link above stays if it cannot be read.
  async function showDigest() {
    try {
      const response = await fetch(window.location.href, {credentials: "same-origin"});
      if (!response.ok) {
        throw new Error(response.status + " " + response.statusText);
      }
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const digest = page.getElementById("digest-result");
      if (!digest) {
        throw new Error("the page has no digest yet");
      }
      outcome.replaceChildren(document.importNode(digest, true));
      outcome.hidden = false;
      box.dataset.shown = "digest";
    } catch (error) {
      box.dataset.shown = "link";
      state.textContent = "done; the digest could not be drawn here (" + error.message + ")";
    }
  }

  // What the worker published: ahead of the record, for this page's task only.
  function onPublication(data) {
    if (!data || data.type !== "progress" || data.task_id !== taskId || finished) {
      return;
    }
    box.dataset.live = data.state;
    if (data.state === "PROGRESS") {
      advance(Math.round(data.percent), running(data), "centrifugo");
    } else if (data.state === "SUCCESS") {
      advance(100, "done; fetching the result…", "centrifugo");
      pollNow();
    } else if (data.state === "FAILURE") {
      state.textContent = "failed: " + data.error;
      box.dataset.via = "centrifugo";
      pollNow();
    }
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  function pollNow() {
    if (!polling && !finished) {
      schedule(0);
    }
  }

  async function poll() {
    polling = true;
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
    polling = false;
    if (status && FINISHED.includes(status.state)) {
      finish();
    } else {
      schedule(INTERVAL_MS);
    }
  }

  function setLive(liveState, text) {
    if (!finished) {
      live.dataset.state = liveState;
      live.textContent = "Live updates: " + text;
    }
  }

  function finish() {
    finished = true;
    if (client) {
      live.dataset.state = "done";
      live.textContent = "Live updates: done.";
      client.disconnect();
    }
  }

  // Live updates only with the page's realtime config, the digest channel (staff) and the
  // scripts; otherwise the template already says why, and polling alone does the job.
  function followLive() {
    const config =
      typeof NotifyTasksRealtime !== "undefined" && typeof Centrifuge !== "undefined"
        ? NotifyTasksRealtime.readConfig()
        : null;
    if (!config || !config.wsUrl || !config.digestChannel) {
      return;
    }
    const channel = config.digestChannel;
    client = NotifyTasksRealtime.connect(config, (connection, detail) => {
      const texts = {
        connecting: "connecting…",
        connected: "connected, subscribing to " + channel + "…",
        disconnected: "disconnected (" + detail + "); " + byPoll,
        unreachable: "Centrifugo is not reachable; " + byPoll + " Retrying in the background.",
        error: detail + "; " + byPoll,
      };
      setLive(connection, texts[connection]);
    });
    const subscription = NotifyTasksRealtime.follow(client, config, channel, onPublication, (reason) =>
      setLive("stopped", "stopped (" + reason + "); " + byPoll),
    );
    subscription.on("subscribed", () => setLive("subscribed", "following " + channel + "."));
    client.connect();
  }

  followLive();
  poll();
})();
