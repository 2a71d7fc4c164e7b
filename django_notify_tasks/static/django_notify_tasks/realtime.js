// django-notify-tasks in the browser: read the config {% notify_tasks_realtime_config %}
// renders, get tokens from the package's endpoints, connect a centrifuge-js client (the
// global `Centrifuge`, which the page loads first) and follow channels. No build step and no
// dependency but centrifuge-js: load it with
//   <script src="{% static 'django_notify_tasks/realtime.js' %}"></script>
// before the page's own script, which uses window.NotifyTasksRealtime.
(function () {
  "use strict";

  const UNAUTHORIZED = 1; // disconnectedCodes.unauthorized: getToken threw UnauthorizedError

  // The tag's JSON, or null when the page has none.
  function readConfig(elementId) {
    const element = document.getElementById(elementId || "notify-tasks-realtime");
    return element ? JSON.parse(element.textContent) : null;
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

  // A client that tells `onState(state, detail)` how the connection goes: "connecting",
  // "connected", "disconnected" (detail: why), "unreachable" or "error" (detail: what).
  // While Centrifugo is down the client keeps reconnecting (with backoff): "unreachable" is
  // said once, instead of flickering between "connecting" and the error at each attempt.
  function connect(config, onState) {
    const client = new Centrifuge(config.wsUrl, {
      getToken: () => fetchToken(config.connectionTokenUrl),
    });
    let unreachable = false;
    client.on("connecting", () => {
      if (!unreachable) {
        onState("connecting");
      }
    });
    client.on("connected", () => {
      unreachable = false;
      onState("connected");
    });
    client.on("disconnected", (ctx) => {
      const why = ctx.code === UNAUTHORIZED ? "not authorized (log in again)" : ctx.reason;
      onState("disconnected", why);
    });
    client.on("error", (ctx) => {
      if (ctx.type === "transport") {
        unreachable = true;
        onState("unreachable");
      } else if (ctx.type === "connectToken") {
        onState("error", "could not get a connection token (" + ctx.error.message + ")");
      }
    });
    return client;
  }

  // Subscribes to `channel`, calling onPublication(data, channel) for each publication and
  // onStopped(reason) if the server ends the subscription. The user's own personal:#<pk> is
  // user-limited (Centrifugo lets only that user in, no token); any other channel needs a
  // subscription token, which the endpoint grants only to users allowed to read it.
  function follow(client, config, channel, onPublication, onStopped) {
    const options =
      channel === config.personalChannel
        ? {}
        : {
            getToken: () =>
              fetchToken(config.subscriptionTokenUrl + "?channel=" + encodeURIComponent(channel)),
          };
    const subscription = client.newSubscription(channel, options);
    subscription.on("publication", (ctx) => onPublication(ctx.data, ctx.channel));
    subscription.on("unsubscribed", (ctx) => {
      if (ctx.code !== 0 && onStopped) {
        onStopped(ctx.reason);
      }
    });
    subscription.subscribe();
    return subscription;
  }

  // The inbox: {% notify_tasks_inbox_bell %} renders links with the unread count; these keep
  // every one of them current. Publications on the personal channel have
  // {"type": "notify_tasks.inbox", "unread": N, "item": {...} (new items only)}.
  const INBOX_MESSAGE = "notify_tasks.inbox";

  function bells() {
    return document.querySelectorAll("[data-notify-tasks-inbox]");
  }

  // Show `count` in every bell of the page.
  function showUnread(count) {
    bells().forEach((bell) => {
      bell.dataset.unread = String(count);
      const badge = bell.querySelector(".notify-tasks-unread");
      if (badge) {
        badge.textContent = String(count);
        badge.hidden = count === 0;
      }
    });
  }

  function inboxUrls() {
    const bell = bells()[0];
    return bell
      ? {list: bell.dataset.notifyTasksInbox, read: bell.dataset.notifyTasksRead}
      : null;
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // A page of the inbox ({"unread", "items", "next"}); params: {cursor, unread, size}.
  async function listInbox(params) {
    const query = new URLSearchParams(params || {}).toString();
    const response = await fetch(inboxUrls().list + (query ? "?" + query : ""), {
      credentials: "same-origin",
      headers: {Accept: "application/json"},
    });
    if (!response.ok) {
      throw new Error(response.status + " from the inbox");
    }
    const page = await response.json();
    showUnread(page.unread);
    return page;
  }

  // Mark items read: an array of ids, or "all". Resolves to the new unread count.
  async function markRead(ids) {
    const response = await fetch(inboxUrls().read, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(ids === "all" ? {all: true} : {ids: ids}),
    });
    if (!response.ok) {
      throw new Error(response.status + " from the inbox");
    }
    const unread = (await response.json()).unread;
    showUnread(unread);
    return unread;
  }

  // Keep the bells live: follow inbox publications on the personal channel (reusing the
  // page's subscription to it when it has one); onItem(item) for each new item.
  function followInbox(client, config, onItem) {
    const existing = client.getSubscription(config.personalChannel);
    const subscription = existing || client.newSubscription(config.personalChannel);
    subscription.on("publication", (ctx) => {
      if (ctx.data && ctx.data.type === INBOX_MESSAGE) {
        showUnread(ctx.data.unread);
        if (ctx.data.item && onItem) {
          onItem(ctx.data.item);
        }
      }
    });
    if (!existing) {
      subscription.subscribe();
    }
    return subscription;
  }

  const inbox = {showUnread, list: listInbox, markRead, follow: followInbox};
  window.NotifyTasksRealtime = {readConfig, fetchToken, connect, follow, inbox};
})();
