// The chat page's live notification feed: centrifuge-js (global `Centrifuge`) connects to
// Centrifugo with tokens from django-notify-tasks' endpoints, subscribes to the chat's channel
// and to the user's personal channel, and lists each publication's `text`.
(function () {
  "use strict";

  const status = document.getElementById("live-status");
  const feed = document.getElementById("live-feed");
  const config = JSON.parse(document.getElementById("notify-tasks-realtime").textContent);
  const wsUrl = config.wsUrl;
  const byEmail = "notifications still arrive by email.";
  const UNAUTHORIZED = 1; // disconnectedCodes.unauthorized: getToken threw UnauthorizedError

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = "Live feed: " + text;
  }

  if (typeof Centrifuge === "undefined") {
    setStatus("unavailable", "unavailable, centrifuge-js did not load; " + byEmail);
    return;
  }

  // {"token": ...} from a token endpoint. 401/403 mean "not logged in / not allowed": throwing
  // UnauthorizedError makes centrifuge-js stop instead of retrying forever.
  async function fetchToken(url) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: {Accept: "application/json"},
    });
    if (response.status === 401 || response.status === 403) {
      throw new Centrifuge.UnauthorizedError(response.status + " from " + url);
    }
    if (!response.ok) {
      throw new Error(response.status + " " + response.statusText + " from " + url);
    }
    return (await response.json()).token;
  }

  function append(channel, data) {
    const item = document.createElement("li");
    const text = data && typeof data.text === "string" ? data.text : JSON.stringify(data);
    item.textContent = new Date().toLocaleTimeString() + " " + text + " ";
    const source = document.createElement("small");
    source.textContent = "(" + channel + ")";
    item.append(source);
    feed.prepend(item);
  }

  const client = new Centrifuge(wsUrl, {
    getToken: () => fetchToken(config.connectionTokenUrl),
  });

  // While Centrifugo is down the client keeps reconnecting (with backoff): say so once,
  // instead of flickering between "connecting" and the error at each attempt.
  let unreachable = false;
  client.on("connecting", () => {
    if (!unreachable) {
      setStatus("connecting", "connecting to " + wsUrl + "…");
    }
  });
  client.on("connected", () => {
    unreachable = false;
    setStatus("connected", "connected to " + wsUrl + ".");
  });
  client.on("disconnected", (ctx) => {
    const why = ctx.code === UNAUTHORIZED ? "not authorized (log in again)" : ctx.reason;
    setStatus("disconnected", "disconnected: " + why + "; " + byEmail);
  });
  client.on("error", (ctx) => {
    if (ctx.type === "transport") {
      unreachable = true;
      setStatus(
        "unreachable",
        "Centrifugo is not reachable at " + wsUrl + " — " + byEmail + " Retrying in the background.",
      );
    } else if (ctx.type === "connectToken") {
      setStatus("error", "could not get a connection token (" + ctx.error.message + "); retrying.");
    }
  });

  function follow(channel, options) {
    const subscription = client.newSubscription(channel, options);
    subscription.on("publication", (ctx) => append(ctx.channel, ctx.data));
    subscription.on("unsubscribed", (ctx) => {
      if (ctx.code !== 0) {
        append(channel, {text: "stopped following: " + ctx.reason});
      }
    });
    subscription.subscribe();
  }

  // chats:<id> needs a subscription token, which the chat's authorizer grants to its members
  // and its admin. personal:#<pk> is user-limited: Centrifugo lets only that user in, no token.
  const chatChannel = feed.dataset.chatChannel;
  follow(chatChannel, {
    getToken: () =>
      fetchToken(config.subscriptionTokenUrl + "?channel=" + encodeURIComponent(chatChannel)),
  });
  if (config.personalChannel) {
    follow(config.personalChannel, {});
  }
  client.connect();
})();
