package dev.rivulet.nexmark.kstreams;

import static dev.rivulet.nexmark.kstreams.Model.*;

import com.fasterxml.jackson.core.type.TypeReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.ToLongFunction;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.ValueJoiner;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * Nexmark q0-q8 as Kafka Streams topologies, each following src/nexmark/model.ts: inputs keyed
 * by decimal id, JSON values, record timestamps as event time; output to nexmark-qN-out.
 */
public final class Queries {
    private Queries() {}

    public static final List<String> NAMES = List.of("q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8");

    static final Serde<String> KEY = Serdes.String();
    static final Serde<Person> PERSON = JsonSerde.of(Person.class);
    static final Serde<Auction> AUCTION = JsonSerde.of(Auction.class);
    static final Serde<Bid> BID = JsonSerde.of(Bid.class);
    static final Serde<Winning> WINNING = JsonSerde.of(Winning.class);

    /** The input topics a query reads (the first one sets the output's partition count). */
    public static List<String> inputs(String query) {
        return switch (query) {
            case "q0", "q1", "q2", "q5", "q7" -> List.of(BID_TOPIC);
            case "q3" -> List.of(AUCTION_TOPIC, PERSON_TOPIC);
            case "q4", "q6" -> List.of(BID_TOPIC, AUCTION_TOPIC);
            case "q8" -> List.of(PERSON_TOPIC, AUCTION_TOPIC);
            default -> throw new IllegalArgumentException("unknown query " + query + ": expected one of " + NAMES);
        };
    }

    /**
     * Adds the query's topology to the builder; graceMs is the windows' grace after their end,
     * bidPartitions the partitions of nexmark-bid (q5 and q7 wait for each one's progress),
     * joinGraceMs how q4 and q6 make a bid find an auction of the same timestamp (winningPrices).
     */
    public static void build(StreamsBuilder b, String query, long graceMs, int bidPartitions, long joinGraceMs) {
        String out = outputTopic(query);
        Duration grace = Duration.ofMillis(graceMs);
        switch (query) {
            case "q0" -> bids(b).to(out, Produced.with(KEY, BID));
            case "q1" -> bids(b)
                    .mapValues(bid -> new Bid(bid.auction(), bid.bidder(), Math.floorDiv(bid.price() * 908, 1000), bid.channel(), bid.url(), bid.dateTime(), bid.extra()))
                    .to(out, Produced.with(KEY, BID));
            case "q2" -> bids(b)
                    .filter((k, bid) -> bid.auction() % 123 == 0)
                    .mapValues(bid -> new Q2Result(bid.auction(), bid.price()))
                    .to(out, Produced.with(KEY, JsonSerde.of(Q2Result.class)));
            case "q3" -> q3(b, out);
            case "q4" -> q4(b, out, joinGraceMs);
            case "q5" -> q5(b, out, grace, bidPartitions);
            case "q6" -> q6(b, out, joinGraceMs);
            case "q7" -> q7(b, out, grace, bidPartitions);
            case "q8" -> q8(b, out, grace);
            default -> throw new IllegalArgumentException("unknown query " + query + ": expected one of " + NAMES);
        }
    }

    static KStream<String, Bid> bids(StreamsBuilder b) {
        return b.stream(BID_TOPIC, Consumed.with(KEY, BID));
    }

    static KTable<String, Auction> auctions(StreamsBuilder b) {
        return b.table(AUCTION_TOPIC, Consumed.with(KEY, AUCTION), Materialized.as("auctions"));
    }

    /** q3: a foreign-key join of the category-10 auctions with the sellers living in OR, ID or CA. */
    static void q3(StreamsBuilder b, String out) {
        Set<String> states = Set.of("OR", "ID", "CA");
        // Without a cache on the people: a cached person is visible to the subscription of its
        // auction before the cache flush forwards it, and the flush then answers that
        // subscription a second time (the same result twice; seen on Rivulet's broker and on
        // Apache Kafka 4.4 alike, in most runs of the test's events).
        KTable<String, Person> people = b.table(PERSON_TOPIC, Consumed.with(KEY, PERSON),
                        Materialized.<String, Person, KeyValueStore<Bytes, byte[]>>as("people").withCachingDisabled())
                .filter((id, p) -> states.contains(p.state()));
        auctions(b)
                .filter((id, a) -> a.category() == 10)
                .join(people, a -> Long.toString(a.seller()), (a, p) -> new Q3Result(p.name(), p.city(), p.state(), a.id()),
                        Materialized.with(KEY, JsonSerde.of(Q3Result.class)))
                .toStream()
                // a filtered-out or deleted auction forwards a tombstone; the contract has none
                .filter((id, r) -> r != null)
                .to(out, Produced.with(KEY, JsonSerde.of(Q3Result.class)));
    }

    /**
     * q4, q6: per auction, the highest price among its bids in [auction.dateTime, auction.expires],
     * a KTable updated as bids arrive (bids and auctions share the key, so the join is local).
     *
     * A task takes its input in timestamp order, but records of equal timestamp on two of its
     * partitions come in no set order (its priority queue of partitions compares timestamps
     * only), and the generator gives a bid its auction's own dateTime when it bids on the
     * auction opened in the same millisecond: joined at once, such a bid misses its auction
     * whenever the task took the auction partition last. Two remedies (see README.md):
     * - joinGraceMs 0 (default): the auction table's records are ordered 1 ms before their
     *   timestamp (a timestamp extractor on its source), so on equal event times the auction
     *   goes first, as Rivulet Streams' task does (it breaks ties by the order the inputs were
     *   declared, the table first). Only the order changes: the join reads both dateTimes from
     *   the values, and a stream-table join's result carries the bid's timestamp.
     * - joinGraceMs > 0: the auction table is versioned and the join has that grace (KIP-923):
     *   a bid waits in a buffer (a RocksDB store with a changelog) until the bids of its task
     *   are that much later, then is joined with the auction as of the bid's timestamp.
     */
    static KTable<String, Winning> winningPrices(StreamsBuilder b, long joinGraceMs) {
        KTable<String, Auction> auctions = joinGraceMs > 0
                ? b.table(AUCTION_TOPIC, Consumed.with(KEY, AUCTION),
                        Materialized.<String, Auction>as(Stores.persistentVersionedKeyValueStore("auctions", Duration.ofMillis(Math.max(60_000, joinGraceMs))))
                                .withKeySerde(KEY).withValueSerde(AUCTION))
                : b.table(AUCTION_TOPIC, Consumed.with(KEY, AUCTION).withTimestampExtractor((record, partitionTime) -> record.timestamp() - 1),
                        Materialized.as("auctions"));
        ValueJoiner<Bid, Auction, Winning> inTime = (bid, a) -> bid.dateTime() >= a.dateTime() && bid.dateTime() <= a.expires()
                ? new Winning(a.id(), a.seller(), a.category(), a.dateTime(), bid.price())
                : null;
        KStream<String, Winning> joined = joinGraceMs > 0
                ? bids(b).join(auctions, inTime, Joined.<String, Bid, Auction>with(KEY, BID, AUCTION).withGracePeriod(Duration.ofMillis(joinGraceMs)))
                : bids(b).join(auctions, inTime);
        return joined
                .filter((id, w) -> w != null)
                .groupByKey(Grouped.with(KEY, WINNING))
                .reduce((best, w) -> w.price() > best.price() ? w : best, Materialized.<String, Winning, KeyValueStore<Bytes, byte[]>>as("winning-prices").withValueSerde(WINNING));
    }

    /** q4: per category, the floor of the mean winning price, kept by an adder and a subtractor. */
    static void q4(StreamsBuilder b, String out, long joinGraceMs) {
        Serde<SumCount> sumCount = JsonSerde.of(SumCount.class);
        winningPrices(b, joinGraceMs)
                .groupBy((auction, w) -> KeyValue.pair(Long.toString(w.category()), w.price()), Grouped.with(KEY, Serdes.Long()))
                .aggregate(() -> new SumCount(0, 0),
                        (category, price, s) -> new SumCount(s.sum() + price, s.count() + 1),
                        (category, price, s) -> new SumCount(s.sum() - price, s.count() - 1),
                        Materialized.with(KEY, sumCount))
                .toStream()
                // between a subtractor and its adder a category can be empty for a moment
                .filter((category, s) -> s != null && s.count() > 0)
                .mapValues((category, s) -> new Q4Result(Long.parseLong(category), Math.floorDiv(s.sum(), s.count()), s.count()))
                .to(out, Produced.with(KEY, JsonSerde.of(Q4Result.class)));
    }

    static final Comparator<Winning> BY_AUCTION_TIME = Comparator.comparingLong(Winning::auctionDateTime).thenComparingLong(Winning::auction);

    /**
     * q6: per seller, the mean winning price of their last 10 auctions (by dateTime, then id).
     * Keeping only 10 is enough: an auction's price only changes by a subtractor immediately
     * followed by the adder of the same auction, which puts it back where it was.
     */
    static void q6(StreamsBuilder b, String out, long joinGraceMs) {
        winningPrices(b, joinGraceMs)
                .groupBy((auction, w) -> KeyValue.pair(Long.toString(w.seller()), w), Grouped.with(KEY, WINNING))
                .aggregate(() -> new Recent(List.of()),
                        (seller, w, r) -> {
                            List<Winning> l = without(r.auctions(), w.auction());
                            l.add(w);
                            l.sort(BY_AUCTION_TIME);
                            return new Recent(l.size() > 10 ? new ArrayList<>(l.subList(l.size() - 10, l.size())) : l);
                        },
                        (seller, w, r) -> new Recent(without(r.auctions(), w.auction())),
                        Materialized.with(KEY, JsonSerde.of(Recent.class)))
                .toStream()
                .filter((seller, r) -> r != null && !r.auctions().isEmpty())
                .mapValues((seller, r) -> {
                    long sum = 0;
                    for (Winning w : r.auctions()) sum += w.price();
                    return new Q6Result(Long.parseLong(seller), Math.floorDiv(sum, r.auctions().size()), r.auctions().size());
                })
                .to(out, Produced.with(KEY, JsonSerde.of(Q6Result.class)));
    }

    static List<Winning> without(List<Winning> l, long auction) {
        List<Winning> copy = new ArrayList<>(l.size() + 1);
        for (Winning w : l) if (w.auction() != auction) copy.add(w);
        return copy;
    }

    /** Keeps every item with the highest score: a higher one replaces them, an equal one joins them. */
    static <T> List<T> highest(List<T> current, List<T> more, ToLongFunction<T> score) {
        List<T> best = new ArrayList<>(current);
        for (T x : more) {
            if (best.isEmpty() || score.applyAsLong(x) > score.applyAsLong(best.get(0))) {
                best.clear();
                best.add(x);
            } else if (score.applyAsLong(x) == score.applyAsLong(best.get(0))) {
                best.add(x);
            }
        }
        return best;
    }

    static final String ALL = "all";

    /**
     * First stage of q5 and q7, per bid partition: after every closed window's results it sends
     * this partition's stream time (when it passed another `step`), so that the second stage
     * knows which windows no partition can still add to. It must be added to the bid stream
     * after the windowed aggregation: a record goes to the children of its source in the order
     * they were added, so a window's results always precede the progress that closed it.
     */
    static final class Progress<T> implements Processor<String, Bid, String, Partial<T>> {
        private final long step;
        private ProcessorContext<String, Partial<T>> context;
        private long streamTime = Long.MIN_VALUE;
        private long reported = Long.MIN_VALUE;

        Progress(long step) {
            this.step = step;
        }

        @Override
        public void init(ProcessorContext<String, Partial<T>> context) {
            this.context = context;
        }

        @Override
        public void process(Record<String, Bid> r) {
            if (r.timestamp() <= streamTime) return;
            streamTime = r.timestamp();
            if (reported != Long.MIN_VALUE && Math.floorDiv(streamTime, step) == Math.floorDiv(reported, step)) return;
            reported = streamTime;
            int partition = context.recordMetadata().map(m -> m.partition()).orElse(0);
            context.forward(new Record<>(ALL, new Partial<T>(partition, streamTime, 0, null), r.timestamp()));
        }
    }

    /**
     * Second stage of q5 and q7, one task: merges each window's results from every bid partition,
     * keeping the highest, and emits a window (its results keyed by auction) once every bid
     * partition's stream time has passed its end plus the grace, as the first stage closes
     * windows. A partition that never sends anything holds every window back.
     */
    static final class Combine<T> implements Processor<String, Partial<T>, String, T> {
        private final String storeName;
        private final int partitions;
        private final long size;
        private final long grace;
        private final ToLongFunction<T> score;
        private final ToLongFunction<T> auction;
        private ProcessorContext<String, T> context;
        private KeyValueStore<String, Partial<T>> store;

        Combine(String storeName, int partitions, long size, long grace, ToLongFunction<T> score, ToLongFunction<T> auction) {
            this.storeName = storeName;
            this.partitions = partitions;
            this.size = size;
            this.grace = grace;
            this.score = score;
            this.auction = auction;
        }

        @Override
        public void init(ProcessorContext<String, T> context) {
            this.context = context;
            this.store = context.getStateStore(storeName);
        }

        @Override
        public void process(Record<String, Partial<T>> r) {
            Partial<T> p = r.value();
            if (p.items() != null) {
                String key = "w" + p.windowStart();
                Partial<T> had = store.get(key);
                store.put(key, new Partial<>(0, 0, p.windowStart(), highest(had == null ? List.of() : had.items(), p.items(), score)));
                return;
            }
            String key = "p" + p.partition();
            Partial<T> had = store.get(key);
            if (had != null && had.progress() >= p.progress()) return;
            store.put(key, p);
            long closed = Long.MAX_VALUE;
            for (int i = 0; i < partitions; i++) {
                Partial<T> q = store.get("p" + i);
                if (q == null) return;
                closed = Math.min(closed, q.progress());
            }
            List<Partial<T>> done = new ArrayList<>();
            try (KeyValueIterator<String, Partial<T>> it = store.all()) {
                while (it.hasNext()) {
                    Partial<T> w = it.next().value;
                    if (w.items() != null && w.windowStart() + size + grace <= closed) done.add(w);
                }
            }
            done.sort(Comparator.comparingLong(Partial::windowStart));
            for (Partial<T> w : done) {
                for (T x : w.items()) context.forward(new Record<>(Long.toString(auction.applyAsLong(x)), x, r.timestamp()));
                store.delete("w" + w.windowStart());
            }
        }
    }

    /**
     * Both stages of q5 and q7 around `closed`, the first stage's results (one record per closed
     * window and auction, keyed by anything): they and the bid partitions' progress go to a
     * one-partition topic, where one task emits each window once no partition can add to it.
     */
    static <T> KStream<String, T> combineWindows(StreamsBuilder b, String query, KStream<String, Bid> bids, KStream<String, T> closed,
            ToLongFunction<T> start, ToLongFunction<T> score, ToLongFunction<T> auction, long step, long size, long grace,
            int bidPartitions, Serde<T> serde, TypeReference<Partial<T>> partialType) {
        Serde<Partial<T>> partialSerde = JsonSerde.of(partialType);
        String storeName = query + "-combine";
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(storeName), KEY, partialSerde));
        KStream<String, Partial<T>> results = closed.map((k, r) -> KeyValue.pair(ALL, new Partial<>(0, 0, start.applyAsLong(r), List.of(r))));
        KStream<String, Partial<T>> progress = bids.process(() -> new Progress<T>(step));
        return results.merge(progress)
                .repartition(Repartitioned.<String, Partial<T>>as(query + "-windows").withKeySerde(KEY).withValueSerde(partialSerde).withNumberOfPartitions(1))
                .process(() -> new Combine<T>(storeName, bidPartitions, size, grace, score, auction), storeName);
    }

    /** q5: bids per auction in hopping windows, then per window the auction(s) with the most. */
    static void q5(StreamsBuilder b, String out, Duration grace, int bidPartitions) {
        Duration size = Duration.ofMillis(Q5_SIZE_MS), advance = Duration.ofMillis(Q5_ADVANCE_MS);
        Serde<Q5Result> serde = JsonSerde.of(Q5Result.class);
        KStream<String, Bid> bids = bids(b);
        KStream<String, Q5Result> counts = bids
                .groupByKey(Grouped.with(KEY, BID))
                .windowedBy(TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance))
                // no cache: a window's results must leave before the progress that closed it
                .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("q5-counts").withCachingDisabled())
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream()
                .map((Windowed<String> w, Long n) -> KeyValue.pair(w.key(), new Q5Result(Long.parseLong(w.key()), n, w.window().start(), w.window().end())));
        combineWindows(b, "q5", bids, counts, Q5Result::windowStart, Q5Result::count, Q5Result::auction, Q5_ADVANCE_MS, Q5_SIZE_MS, grace.toMillis(),
                bidPartitions, serde, new TypeReference<Partial<Q5Result>>() {})
                .to(out, Produced.with(KEY, serde));
    }

    /** q7: per auction and tumbling window its highest bid(s), then per window the highest of all. */
    static void q7(StreamsBuilder b, String out, Duration grace, int bidPartitions) {
        Duration size = Duration.ofMillis(Q7_SIZE_MS);
        Serde<Q7Result> serde = JsonSerde.of(Q7Result.class);
        KStream<String, Bid> bids = bids(b);
        KStream<String, Q7Result> perAuction = bids
                .groupByKey(Grouped.with(KEY, BID))
                .windowedBy(TimeWindows.ofSizeAndGrace(size, grace))
                .aggregate(() -> new Top<Bid>(List.of()), (id, bid, top) -> new Top<>(highest(top.items(), List.of(bid), Bid::price)),
                        // no cache: a window's results must leave before the progress that closed it
                        Materialized.<String, Top<Bid>, WindowStore<Bytes, byte[]>>as("q7-top")
                                .withValueSerde(JsonSerde.of(new TypeReference<Top<Bid>>() {})).withCachingDisabled())
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream()
                .flatMap((Windowed<String> w, Top<Bid> top) -> top.items().stream()
                        .map(bid -> KeyValue.pair(w.key(), new Q7Result(bid.auction(), bid.bidder(), bid.price(), bid.dateTime(), w.window().start(), w.window().end())))
                        .toList());
        combineWindows(b, "q7", bids, perAuction, Q7Result::windowStart, Q7Result::price, Q7Result::auction, Q7_SIZE_MS, Q7_SIZE_MS, grace.toMillis(),
                bidPartitions, serde, new TypeReference<Partial<Q7Result>>() {})
                .to(out, Produced.with(KEY, serde));
    }

    /**
     * q8: people and their auctions (re-keyed by seller) meet per person in tumbling windows. A
     * result leaves with the update that first makes a window hold both, not when the window
     * closes, so the last windows of an input need no later events; later auctions in the window
     * change nothing. No cache, so that no update (the completing one included) is folded away.
     * The window's task reads a repartition topic that every upstream task writes: a record
     * behind the stream time another task moved on by more than the grace is dropped as late.
     */
    static void q8(StreamsBuilder b, String out, Duration grace) {
        Serde<Seen> seen = JsonSerde.of(Seen.class);
        KStream<String, Seen> created = b.stream(PERSON_TOPIC, Consumed.with(KEY, PERSON))
                .mapValues(p -> new Seen(p.name(), true, false, false));
        KStream<String, Seen> opened = b.stream(AUCTION_TOPIC, Consumed.with(KEY, AUCTION))
                .map((id, a) -> KeyValue.pair(Long.toString(a.seller()), new Seen(null, false, true, false)));
        created.merge(opened)
                .groupByKey(Grouped.with(KEY, seen))
                .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(Q8_SIZE_MS), grace))
                .aggregate(() -> new Seen(null, false, false, false),
                        (id, s, acc) -> {
                            boolean c = acc.created() || s.created(), o = acc.opened() || s.opened();
                            return new Seen(s.created() ? s.name() : acc.name(), c, o, c && o && !(acc.created() && acc.opened()));
                        },
                        Materialized.<String, Seen, WindowStore<Bytes, byte[]>>as("q8-new-users").withValueSerde(seen).withCachingDisabled())
                .toStream()
                .filter((w, s) -> s != null && s.complete())
                .map((Windowed<String> w, Seen s) -> KeyValue.pair(w.key(), new Q8Result(Long.parseLong(w.key()), s.name(), w.window().start(), w.window().end())))
                .to(out, Produced.with(KEY, JsonSerde.of(Q8Result.class)));
    }
}
