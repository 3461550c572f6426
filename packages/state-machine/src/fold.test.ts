import { makeEvent, parseResendEvent, type ResendEventType } from "@mailstate/resend-events";
import { describe, expect, it } from "vitest";
import { foldEvents, INITIAL_DELIVERY_SNAPSHOT, type LoggedEvent, timeline } from "./fold.ts";

function logged(svixId: string, type: ResendEventType, createdAt: string): LoggedEvent {
  return { svixId, event: makeEvent(type, { created_at: createdAt }) };
}

describe("foldEvents", () => {
  it("is recorded, with nothing counted, before any event", () => {
    expect(foldEvents([])).toEqual({
      state: "recorded",
      stateEvent: null,
      openCount: 0,
      clickCount: 0,
      firstOpenedAt: null,
      firstClickedAt: null,
    });
    expect(foldEvents([])).toEqual(INITIAL_DELIVERY_SNAPSHOT);
  });

  it("seed scenario: sent, delivered, then opened does not regress delivery", () => {
    const events = [
      logged("msg_1", "email.sent", "2026-11-22T10:00:00.894719+00:00"),
      logged("msg_2", "email.delivered", "2026-11-22T10:00:01.532Z"),
      logged("msg_3", "email.opened", "2026-11-22T10:03:12.608Z"),
    ];
    expect(foldEvents(events)).toEqual({
      state: "delivered",
      stateEvent: { svixId: "msg_2", type: "email.delivered", occurredAt: new Date("2026-11-22T10:00:01.532Z") },
      openCount: 1,
      clickCount: 0,
      firstOpenedAt: new Date("2026-11-22T10:03:12.608Z"),
      firstClickedAt: null,
    });
  });

  it("a bounce on a second send is terminal even when a later delivered arrives after it", () => {
    const sent = logged("msg_a", "email.sent", "2026-11-22T11:00:00.000000+00:00");
    const bounced = logged("msg_b", "email.bounced", "2026-11-22T11:00:02.000Z");
    const delivered = logged("msg_c", "email.delivered", "2026-11-22T11:00:05.000Z");
    for (const arrival of [
      [sent, bounced, delivered],
      [delivered, bounced, sent],
      [bounced, delivered, sent],
    ]) {
      const snapshot = foldEvents(arrival);
      expect(snapshot.state).toBe("bounced");
      expect(snapshot.stateEvent).toEqual({
        svixId: "msg_b",
        type: "email.bounced",
        occurredAt: new Date("2026-11-22T11:00:02.000Z"),
      });
    }
  });

  it("orders by the event's own created_at, not data.created_at", () => {
    // data.created_at (when the email was created) would order these the other way.
    const delivered = {
      svixId: "msg_1",
      event: makeEvent("email.delivered", {
        created_at: "2026-11-22T10:00:01Z",
        data: { created_at: "2026-11-22T10:00:09Z" },
      }),
    };
    const complained = {
      svixId: "msg_2",
      event: makeEvent("email.complained", {
        created_at: "2026-11-22T10:05:00Z",
        data: { created_at: "2026-11-22T09:00:00Z" },
      }),
    };
    expect(timeline([complained, delivered]).map((entry) => entry.svixId)).toEqual(["msg_1", "msg_2"]);
    expect(foldEvents([complained, delivered]).state).toBe("complained");
  });

  it("orders at microsecond precision across Resend's two time forms", () => {
    // 10:00:00.123Z is one microsecond before 10:00:00.123001+00:00; svix ids say the opposite.
    const bounced = logged("msg_z", "email.bounced", "2026-11-22T10:00:00.123Z");
    const complained = logged("msg_a", "email.complained", "2026-11-22T10:00:00.123001+00:00");
    expect(foldEvents([complained, bounced]).state).toBe("bounced");
    const complainedFirst = logged("msg_a", "email.complained", "2026-11-22T10:00:00.122999+00:00");
    expect(foldEvents([bounced, complainedFirst]).state).toBe("complained");
  });

  it("breaks a tie in time by svix-id", () => {
    const at = "2026-11-22T10:00:00.500000+00:00";
    expect(foldEvents([logged("msg_b", "email.complained", at), logged("msg_a", "email.bounced", at)]).state).toBe(
      "bounced",
    );
    expect(foldEvents([logged("msg_a", "email.complained", at), logged("msg_b", "email.bounced", at)]).state).toBe(
      "complained",
    );
    // The same instant written in two forms is still a tie.
    const sameInstant = "2026-11-22T12:00:00.500+02:00";
    expect(
      foldEvents([logged("msg_b", "email.bounced", at), logged("msg_a", "email.complained", sameInstant)]).state,
    ).toBe("complained");
  });

  it("counts each svix-id once", () => {
    const sent = logged("msg_1", "email.sent", "2026-11-22T10:00:00Z");
    const open = logged("msg_2", "email.opened", "2026-11-22T10:01:00Z");
    const snapshot = foldEvents([sent, open, open, structuredClone(open), sent]);
    expect(snapshot.openCount).toBe(1);
    expect(timeline([sent, open, open, sent])).toHaveLength(2);
  });

  it("keeps the earlier payload should one svix-id ever carry two, whatever the arrival order", () => {
    const early = logged("msg_1", "email.bounced", "2026-11-22T10:00:00Z");
    const late = logged("msg_1", "email.delivered", "2026-11-22T10:00:05Z");
    expect(foldEvents([early, late]).state).toBe("bounced");
    expect(foldEvents([late, early]).state).toBe("bounced");
  });

  it("counts opens and clicks in any state, terminal ones included, and keeps the first times", () => {
    const events = [
      logged("msg_1", "email.sent", "2026-11-22T10:00:00Z"),
      logged("msg_2", "email.clicked", "2026-11-22T10:04:00Z"),
      logged("msg_3", "email.opened", "2026-11-22T10:02:00.000001+00:00"),
      logged("msg_4", "email.opened", "2026-11-22T10:02:00Z"),
      logged("msg_5", "email.complained", "2026-11-22T10:03:00Z"),
      logged("msg_6", "email.clicked", "2026-11-22T10:06:00Z"),
      logged("msg_7", "email.opened", "2026-11-22T10:05:00Z"),
    ];
    const snapshot = foldEvents(events);
    expect(snapshot.state).toBe("complained");
    expect(snapshot.openCount).toBe(3);
    expect(snapshot.clickCount).toBe(2);
    expect(snapshot.firstOpenedAt).toEqual(new Date("2026-11-22T10:02:00Z"));
    expect(snapshot.firstClickedAt).toEqual(new Date("2026-11-22T10:04:00Z"));
  });

  it("keeps the stateEvent of the event that first reached the state", () => {
    const events = [
      logged("msg_1", "email.delivered", "2026-11-22T10:00:01Z"),
      logged("msg_2", "email.delivered", "2026-11-22T10:00:02Z"),
      logged("msg_3", "email.delivery_delayed", "2026-11-22T10:00:03Z"),
      logged("msg_4", "email.sent", "2026-11-22T10:00:04Z"),
    ];
    expect(foldEvents(events).stateEvent?.svixId).toBe("msg_1");
  });

  it("ignores events of other kinds", () => {
    const other = {
      svixId: "msg_9",
      event: parseResendEvent({ type: "email.new_kind", created_at: "2026-11-22T10:00:02Z", data: {} }),
    };
    const events = [
      logged("msg_1", "email.sent", "2026-11-22T10:00:00Z"),
      logged("msg_2", "contact.created", "2026-11-22T10:00:01Z"),
      other,
    ];
    expect(foldEvents(events)).toMatchObject({ state: "sent", stateEvent: { svixId: "msg_1" } });
  });
});

describe("timeline", () => {
  it("lists the events in order, each with the state after it and whether it moved", () => {
    const events = [
      logged("msg_5", "email.opened", "2026-11-22T10:03:00Z"),
      logged("msg_4", "email.delivery_delayed", "2026-11-22T10:02:00.000001+00:00"),
      logged("msg_1", "email.sent", "2026-11-22T10:00:00Z"),
      logged("msg_3", "email.delivered", "2026-11-22T10:01:00Z"),
      logged("msg_6", "email.bounced", "2026-11-22T10:04:00Z"),
      logged("msg_7", "email.delivered", "2026-11-22T10:05:00Z"),
      logged("msg_3", "email.delivered", "2026-11-22T10:01:00Z"),
    ];
    expect(
      timeline(events).map(({ svixId, event, stateBefore, stateAfter, moved, kind }) => [
        svixId,
        event.type,
        kind,
        stateBefore,
        stateAfter,
        moved,
      ]),
    ).toEqual([
      ["msg_1", "email.sent", "delivery", "recorded", "sent", true],
      ["msg_3", "email.delivered", "delivery", "sent", "delivered", true],
      ["msg_4", "email.delivery_delayed", "delivery", "delivered", "delivered", false],
      ["msg_5", "email.opened", "engagement", "delivered", "delivered", false],
      ["msg_6", "email.bounced", "suppression_source", "delivered", "bounced", true],
      ["msg_7", "email.delivered", "delivery", "bounced", "bounced", false],
    ]);
  });

  it("gives each entry its time to the millisecond and to the microsecond", () => {
    const [entry] = timeline([logged("msg_1", "email.sent", "2026-11-22T10:00:00.894719+00:00")]);
    expect(entry?.occurredAt).toEqual(new Date("2026-11-22T10:00:00.894Z"));
    expect(entry?.occurredAtKey).toBe("2026-11-22T10:00:00.894719Z");
  });

  it("agrees with foldEvents on the final state", () => {
    const events = [
      logged("msg_1", "email.scheduled", "2026-11-22T09:00:00Z"),
      logged("msg_2", "email.failed", "2026-11-22T10:00:00Z"),
    ];
    expect(timeline(events).at(-1)?.stateAfter).toBe(foldEvents(events).state);
  });
});
