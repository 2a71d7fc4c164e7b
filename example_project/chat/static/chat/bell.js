// The header's bell on every page but the chat page (whose live feed does the same): connects
// to Centrifugo through the package's realtime.js and follows the unread count published on
// the user's personal channel. Without Centrifugo the bell keeps the count of the page load.
(function () {
  "use strict";

  if (typeof Centrifuge === "undefined" || typeof NotifyTasksRealtime === "undefined") {
    return;
  }
  const config = NotifyTasksRealtime.readConfig();
  if (!config || !config.personalChannel) {
    return;
  }
  const bell = document.querySelector(".notify-tasks-bell");
  const client = NotifyTasksRealtime.connect(config, (state) => {
    if (bell) {
      bell.dataset.live = state; // "connected" once the count is followed live
    }
  });
  NotifyTasksRealtime.inbox.follow(client, config);
  client.connect();
})();
