// The chat page's live notification feed: connects to Centrifugo through the package's realtime.js (tokens
// from django-notify-tasks' endpoints), subscribes to the chat's channel and to the user's
// personal channel, and lists each publication's `text`; keeps the header's bell current.
(function () {
  "use strict";

  const status = document.getElementById("live-status");
  const feed = document.getElementById("live-feed");
  const byEmail = "notifications still arrive by email.";

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = "Live feed: " + text;
  }

  if (typeof Centrifuge === "undefined" || typeof NotifyTasksRealtime === "undefined") {
    setStatus("unavailable", "unavailable, centrifuge-js did not load; " + byEmail);
    return;
  }
  const config = NotifyTasksRealtime.readConfig();
  const wsUrl = config.wsUrl;

  function append(channel, data) {
    if (data && data.type === "notify_tasks.inbox") {
      return; // the bell's count, not a feed message (inbox.follow below shows it)
    }
    const item = document.createElement("li");
    const text = data && typeof data.text === "string" ? data.text : JSON.stringify(data);
    item.textContent = new Date().toLocaleTimeString() + " " + text + " ";
    const source = document.createElement("small");
    source.textContent = "(" + channel + ")";
    item.append(source);
    feed.prepend(item);
  }

  const client = NotifyTasksRealtime.connect(config, (state, detail) => {
    const texts = {
      connecting: "connecting to " + wsUrl + "…",
      connected: "connected to " + wsUrl + ".",
      disconnected: "disconnected: " + detail + "; " + byEmail,
      unreachable:
        "Centrifugo is not reachable at " + wsUrl + " — " + byEmail + " Retrying in the background.",
      error: detail + "; retrying.",
    };
    setStatus(state, texts[state]);
  });

  // chats:<id> needs a subscription token, which the chat's authorizer grants to its members
  // and its admin; personal:#<pk> needs none.
  const channels = [feed.dataset.chatChannel];
  if (config.personalChannel) {
    channels.push(config.personalChannel);
  }
  // After a reconnect, Centrifugo sends what the page missed (history and force_recovery in
  // the generated config): data-recovered lists the channels that caught up this way.
  const recovered = new Set();
  for (const channel of channels) {
    const subscription = NotifyTasksRealtime.follow(
      client,
      config,
      channel,
      (data, from) => append(from, data),
      (reason) => append(channel, {text: "stopped following: " + reason}),
    );
    subscription.on("subscribed", (ctx) => {
      if (!ctx.wasRecovering) {
        return;
      }
      if (ctx.recovered) {
        recovered.add(channel);
        feed.dataset.recovered = Array.from(recovered).join(" ");
      } else {
        append(channel, {text: "some messages were missed while away: reload the page to see them"});
      }
    });
  }
  if (config.personalChannel) {
    NotifyTasksRealtime.inbox.follow(client, config); // the header's bell, on the same subscription
  }
  client.connect();
})();
