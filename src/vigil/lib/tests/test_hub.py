import asyncio
import threading

from vigil.lib.hub import RESYNC, Hub


def test_events_published_from_another_thread_arrive_in_order():
    hub = Hub()

    async def scenario():
        sub = hub.subscribe("floor:1")
        thread = threading.Thread(target=lambda: [hub.publish("floor:1", n) for n in range(5)])
        thread.start()
        thread.join()
        got = [await asyncio.wait_for(sub.get(), 1) for _ in range(5)]
        hub.unsubscribe(sub)
        return got

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4]
    assert hub.subscriber_count("floor:1") == 0


def test_other_topics_are_not_delivered():
    hub = Hub()

    async def scenario():
        sub = hub.subscribe("floor:1")
        assert hub.publish("floor:2", "x") == 0
        await asyncio.sleep(0.01)
        return sub.queue.qsize()

    assert asyncio.run(scenario()) == 0


def test_a_full_queue_turns_into_a_resync_instead_of_blocking():
    hub = Hub()

    async def scenario():
        sub = hub.subscribe("t")
        for n in range(200):
            hub.publish("t", n)
        await asyncio.sleep(0.01)
        items = []
        while not sub.queue.empty():
            items.append(sub.queue.get_nowait())
        return items

    items = asyncio.run(scenario())
    assert len(items) <= 64
    assert items[-1] == RESYNC


def test_one_subscription_can_hear_several_topics():
    hub = Hub()

    async def scenario():
        sub = hub.subscribe("floor:1", "alarms:1")
        hub.publish("alarms:1", "a")
        hub.publish("floor:1", "f")
        hub.publish("alarms:2", "other site")
        got = [await asyncio.wait_for(sub.get(), 1) for _ in range(2)]
        hub.unsubscribe(sub)
        return got

    assert asyncio.run(scenario()) == ["a", "f"]
    assert hub.subscriber_count("floor:1") == hub.subscriber_count("alarms:1") == 0
