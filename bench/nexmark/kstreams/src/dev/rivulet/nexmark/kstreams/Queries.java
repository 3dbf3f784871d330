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
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

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

    /** Adds the query's topology to the builder; graceMs is the windows' grace after their end. */
    public static void build(StreamsBuilder b, String query, long graceMs) {
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
            case "q4" -> q4(b, out);
            case "q5" -> q5(b, out, grace);
            case "q6" -> q6(b, out);
            case "q7" -> q7(b, out, grace);
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
        // subscription a second time (the same result twice, in about half the runs).
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
     */
    static KTable<String, Winning> winningPrices(StreamsBuilder b) {
        return bids(b)
                .join(auctions(b), (bid, a) -> bid.dateTime() >= a.dateTime() && bid.dateTime() <= a.expires()
                        ? new Winning(a.id(), a.seller(), a.category(), a.dateTime(), bid.price())
                        : null)
                .filter((id, w) -> w != null)
                .groupByKey(Grouped.with(KEY, WINNING))
                .reduce((best, w) -> w.price() > best.price() ? w : best, Materialized.<String, Winning, KeyValueStore<Bytes, byte[]>>as("winning-prices").withValueSerde(WINNING));
    }

    /** q4: per category, the floor of the mean winning price, kept by an adder and a subtractor. */
    static void q4(StreamsBuilder b, String out) {
        Serde<SumCount> sumCount = JsonSerde.of(SumCount.class);
        winningPrices(b)
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
    static void q6(StreamsBuilder b, String out) {
        winningPrices(b)
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

    /** Sets a record's timestamp to its window's start, so that a second stage windows it by that. */
    static final class AtWindowStart<V> implements Processor<String, V, String, V> {
        private final ToLongFunction<V> windowStart;
        private ProcessorContext<String, V> context;

        AtWindowStart(ToLongFunction<V> windowStart) {
            this.windowStart = windowStart;
        }

        @Override
        public void init(ProcessorContext<String, V> context) {
            this.context = context;
        }

        @Override
        public void process(Record<String, V> r) {
            context.forward(r.withTimestamp(windowStart.applyAsLong(r.value())));
        }
    }

    /**
     * Second stage of q5 and q7: the closed windows of the first stage (one record per window and
     * key, from any partition) meet per window start, timestamped with it, in tumbling windows of
     * `step`, and the window's top results leave once it closes, keyed by auction. Each partition
     * of the first stage has its own stream time, so a window's last result may come after the
     * next window's first from another partition: the grace of one window size absorbs that.
     */
    static <T> KStream<String, T> topPerWindow(KStream<String, T> closed, ToLongFunction<T> start, ToLongFunction<T> score,
            ToLongFunction<T> auction, Duration step, Duration size, Duration grace, Serde<T> serde, TypeReference<Top<T>> topType) {
        Serde<Top<T>> topSerde = JsonSerde.of(topType);
        return closed
                .process(() -> new AtWindowStart<>(start))
                .groupByKey(Grouped.with(KEY, serde))
                .windowedBy(TimeWindows.ofSizeAndGrace(step, size.plus(grace)))
                .aggregate(() -> new Top<T>(List.of()), (ws, r, top) -> new Top<>(highest(top.items(), List.of(r), score)), Materialized.with(KEY, topSerde))
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream()
                .flatMap((w, top) -> top.items().stream().map(r -> KeyValue.pair(Long.toString(auction.applyAsLong(r)), r)).toList());
    }

    /** q5: bids per auction in hopping windows, then per window the auction(s) with the most. */
    static void q5(StreamsBuilder b, String out, Duration grace) {
        Duration size = Duration.ofMillis(Q5_SIZE_MS), advance = Duration.ofMillis(Q5_ADVANCE_MS);
        Serde<Q5Result> serde = JsonSerde.of(Q5Result.class);
        KStream<String, Q5Result> counts = bids(b)
                .groupByKey(Grouped.with(KEY, BID))
                .windowedBy(TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance))
                .count()
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream()
                .map((Windowed<String> w, Long n) -> KeyValue.pair(Long.toString(w.window().start()),
                        new Q5Result(Long.parseLong(w.key()), n, w.window().start(), w.window().end())));
        topPerWindow(counts, Q5Result::windowStart, Q5Result::count, Q5Result::auction, advance, size, grace, serde, new TypeReference<Top<Q5Result>>() {})
                .to(out, Produced.with(KEY, serde));
    }

    /** q7: per auction and tumbling window its highest bid(s), then per window the highest of all. */
    static void q7(StreamsBuilder b, String out, Duration grace) {
        Duration size = Duration.ofMillis(Q7_SIZE_MS);
        Serde<Q7Result> serde = JsonSerde.of(Q7Result.class);
        KStream<String, Q7Result> perAuction = bids(b)
                .groupByKey(Grouped.with(KEY, BID))
                .windowedBy(TimeWindows.ofSizeAndGrace(size, grace))
                .aggregate(() -> new Top<Bid>(List.of()), (id, bid, top) -> new Top<>(highest(top.items(), List.of(bid), Bid::price)),
                        Materialized.with(KEY, JsonSerde.of(new TypeReference<Top<Bid>>() {})))
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream()
                .flatMap((Windowed<String> w, Top<Bid> top) -> top.items().stream()
                        .map(bid -> KeyValue.pair(Long.toString(w.window().start()),
                                new Q7Result(bid.auction(), bid.bidder(), bid.price(), bid.dateTime(), w.window().start(), w.window().end())))
                        .toList());
        topPerWindow(perAuction, Q7Result::windowStart, Q7Result::price, Q7Result::auction, size, size, grace, serde, new TypeReference<Top<Q7Result>>() {})
                .to(out, Produced.with(KEY, serde));
    }

    /** q8: people and their auctions (re-keyed by seller) meet per person in tumbling windows. */
    static void q8(StreamsBuilder b, String out, Duration grace) {
        Serde<Seen> seen = JsonSerde.of(Seen.class);
        KStream<String, Seen> created = b.stream(PERSON_TOPIC, Consumed.with(KEY, PERSON))
                .mapValues(p -> new Seen(p.name(), true, false));
        KStream<String, Seen> opened = b.stream(AUCTION_TOPIC, Consumed.with(KEY, AUCTION))
                .map((id, a) -> KeyValue.pair(Long.toString(a.seller()), new Seen(null, false, true)));
        created.merge(opened)
                .groupByKey(Grouped.with(KEY, seen))
                .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(Q8_SIZE_MS), grace))
                .aggregate(() -> new Seen(null, false, false),
                        (id, s, acc) -> new Seen(s.created() ? s.name() : acc.name(), acc.created() || s.created(), acc.opened() || s.opened()),
                        Materialized.with(KEY, seen))
                .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                .toStream()
                .filter((w, s) -> s.created() && s.opened())
                .map((Windowed<String> w, Seen s) -> KeyValue.pair(w.key(), new Q8Result(Long.parseLong(w.key()), s.name(), w.window().start(), w.window().end())))
                .to(out, Produced.with(KEY, JsonSerde.of(Q8Result.class)));
    }
}
