package dev.rivulet.nexmark.kstreams;

import java.util.List;

/**
 * The Nexmark events and query results as src/nexmark/model.ts defines them. Records serialize
 * their components in declaration order, which is the order of the TypeScript interfaces.
 * Every number is a long: the contract's numbers are integers (ids, prices, epoch ms).
 */
public final class Model {
    private Model() {}

    public static final String PERSON_TOPIC = "nexmark-person";
    public static final String AUCTION_TOPIC = "nexmark-auction";
    public static final String BID_TOPIC = "nexmark-bid";

    public static String outputTopic(String query) {
        return "nexmark-" + query + "-out";
    }

    /** Window sizes (model.ts WINDOW). */
    public static final long Q5_SIZE_MS = 10_000;
    public static final long Q5_ADVANCE_MS = 2_000;
    public static final long Q7_SIZE_MS = 10_000;
    public static final long Q8_SIZE_MS = 10_000;

    public record Person(long id, String name, String emailAddress, String creditCard, String city, String state, long dateTime, String extra) {}

    public record Auction(long id, String itemName, String description, long initialBid, long reserve, long dateTime, long expires, long seller, long category, String extra) {}

    public record Bid(long auction, long bidder, long price, String channel, String url, long dateTime, String extra) {}

    public record Q2Result(long auction, long price) {}

    public record Q3Result(String name, String city, String state, long id) {}

    public record Q4Result(long category, long avgPrice, long auctions) {}

    public record Q5Result(long auction, long count, long windowStart, long windowEnd) {}

    public record Q6Result(long seller, long avgPrice, long auctions) {}

    public record Q7Result(long auction, long bidder, long price, long dateTime, long windowStart, long windowEnd) {}

    public record Q8Result(long id, String name, long windowStart, long windowEnd) {}

    // ---- intermediate values (state stores and internal topics only) ----

    /** An auction's highest in-time bid so far (q4, q6). */
    public record Winning(long auction, long seller, long category, long auctionDateTime, long price) {}

    /** q4: the winning prices of a category's auctions. */
    public record SumCount(long sum, long count) {}

    /** q6: a seller's last (up to) 10 auctions with a winning price, oldest first. */
    public record Recent(List<Winning> auctions) {}

    /** q5, q7: the results of a window that share the highest score so far. */
    public record Top<T>(List<T> items) {}

    /**
     * q5, q7 on their way to the one-partition second stage: a closed window's results (items set),
     * or a bid partition's stream time (items null).
     */
    public record Partial<T>(int partition, long progress, long windowStart, List<T> items) {}

    /**
     * q8: what a window has seen of a person: the person (name set) and/or their auctions;
     * complete on the update that first made it hold both.
     */
    public record Seen(String name, boolean created, boolean opened, boolean complete) {}
}
